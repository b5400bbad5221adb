"""The failure a worker reports, and the wording helpers every worker module shares.

Part of the worker (see ``__main__.py``): standard library only at import time, Python 3.8
syntax, never imports the provider package.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    Result = dict[str, Any]

__all__ = ["ReportedError", "error_text", "import_failure", "quoted"]

_BACKGROUND = re.compile(r"\s*\(Background on this error at: [^)]*\)")


class ReportedError(Exception):
    """A failure reported to the provider as ``{kind, message, revision, heads_reached}``."""

    def __init__(
        self,
        kind: str,
        message: str,
        revision: str | None = None,
        heads: Sequence[str] | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.revision = revision
        self.heads = None if heads is None else sorted(heads)

    def payload(self, trace: str) -> Result:
        return {
            "kind": self.kind,
            "message": self.message,
            "revision": self.revision,
            "heads_reached": self.heads,
            "traceback": trace,
        }


def quoted(items: Sequence[str]) -> str:
    return ", ".join(f"'{item}'" for item in items)


def error_text(exc: BaseException) -> str:
    message = _BACKGROUND.sub("", str(exc)).strip()
    if len(message) > 4000:
        message = message[:4000] + " ..."
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def import_failure(exc: ImportError) -> ReportedError:
    name = getattr(exc, "name", None) or str(exc)
    return ReportedError(
        "environment",
        f"The interpreter '{sys.executable}' cannot import '{name}' ({exc}). Install it in "
        "that environment, or set 'python' to an interpreter that has it.",
    )
