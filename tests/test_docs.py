"""The registry docs are generated from the schemas and must be committed up to date."""

from __future__ import annotations

from tests.support import ROOT, load_script


def test_committed_docs_match_the_schema() -> None:
    module = load_script("gen_docs")
    stale = [
        str(path) for path, text in module.render().items() if (ROOT / path).read_text() != text
    ]
    assert not stale, f"Docs are out of date: {', '.join(stale)}. Run `make docs`."
