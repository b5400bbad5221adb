"""The review guide lists every code: its row, a bad and a good example, and the safer way."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from alembic_provider.review import CODES

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "guides" / "review.md"
_DIALECTS = {"postgresql": "PostgreSQL", "mysql": "MySQL", "mariadb": "MariaDB"}


def _entries() -> dict[str, str]:
    """Each code's entry of the guide's Codes section, from its ``**`code`**`` to the next."""
    text = GUIDE.read_text()
    section = text[text.index("\n## Codes") : text.index("\n## Asserting on findings")]
    parts = re.split(r"^\*\*`([\w-]+)`\*\*", section, flags=re.MULTILINE)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts), 2)}


def test_the_guide_has_one_entry_per_code() -> None:
    assert sorted(_entries()) == sorted(CODES)


@pytest.mark.parametrize("code", sorted(CODES))
def test_each_entry_has_a_row_a_bad_and_a_good_example_and_the_safer_way(code: str) -> None:
    spec = CODES[code]
    entry = _entries()[code]
    assert "# bad" in entry and "# good" in entry, entry
    safer = re.search(r"^Safer: (.*?)(?:\n\n|\Z)", entry.strip() + "\n\n", re.M | re.S)
    assert safer is not None, entry
    said = " ".join(safer.group(1).replace("`", "").split()).rstrip(".")
    assert said.startswith(spec.safer[:40]), (said, spec.safer)
    (row,) = re.findall(rf"^\| `{re.escape(code)}` \| (\w+) \| ([^|]+) \|", GUIDE.read_text(), re.M)
    dialects = ", ".join(_DIALECTS[d] for d in spec.dialects) if spec.dialects else "all"
    assert row == (spec.category, dialects), row
