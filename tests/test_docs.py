"""The registry docs are generated from the schemas and must be committed up to date."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_committed_docs_match_the_schema() -> None:
    spec = importlib.util.spec_from_file_location("gen_docs", ROOT / "scripts" / "gen_docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    stale = [
        str(path) for path, text in module.render().items() if (ROOT / path).read_text() != text
    ]
    assert not stale, f"Docs are out of date: {', '.join(stale)}. Run `make docs`."
