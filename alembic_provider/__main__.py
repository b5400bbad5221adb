"""``python -m alembic_provider`` and the console script: the command line of ``entry/cli.py``."""

from __future__ import annotations

import sys

from alembic_provider.entry.cli import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
