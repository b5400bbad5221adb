"""Write the registry-style docs under ``docs/`` from the provider's schemas (``make docs``).

Each page follows the layout the Terraform Registry renders: front matter, a description, the
example from ``examples/``, and the schema grouped into Required, Optional and Read-Only. The
text of every attribute is its schema description, so code and docs cannot drift apart; a test
fails when the committed pages differ from what this script writes.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from alembic_provider.provider import new_provider  # noqa: E402
from alembic_provider.schema import Attribute, Block, NestedBlock, Schema  # noqa: E402

_TYPE_LABELS = {"string": "String", "number": "Number", "bool": "Boolean", "dynamic": "Dynamic"}
_INTRO = ROOT / "templates"


def _type_label(ty: object) -> str:
    if isinstance(ty, str):
        return _TYPE_LABELS[ty]
    assert isinstance(ty, list)
    kind = ty[0]
    if kind in ("list", "set", "map"):
        return f"{kind.capitalize()} of {_type_label(ty[1])}"
    return kind.capitalize()


def _line(attribute: Attribute) -> str:
    flags = [_type_label(attribute.type)]
    if attribute.sensitive:
        flags.append("Sensitive")
    if attribute.write_only:
        flags.append("Write-only")
    if attribute.deprecated:
        flags.append("Deprecated")
    return f"- `{attribute.name}` ({', '.join(flags)}) {attribute.description}"


def _block_line(nested: NestedBlock) -> str:
    description = nested.block.description.rstrip(".")
    return (
        f"- `{nested.type_name}` (Block, Optional) {description} "
        f"(see [below for nested schema](#nested-schema-for-{nested.type_name}))."
    )


def _schema_section(block: Block) -> str:
    groups = {
        "Required": [a for a in block.attributes if a.required],
        "Optional": [a for a in block.attributes if a.optional],
        "Read-Only": [a for a in block.attributes if a.computed_only],
    }
    # Nested blocks are optional (none of ours sets min_items) and listed with the attributes,
    # as the registry's generated pages do.
    blocks = {nested.type_name: _block_line(nested) for nested in block.block_types}
    parts = ["<!-- schema generated from the provider's code -->", "## Schema"]
    for title, attributes in groups.items():
        lines_by_name = {a.name: _line(a) for a in attributes}
        if title == "Optional":
            lines_by_name.update(blocks)
        if lines_by_name:
            lines = "\n".join(lines_by_name[name] for name in sorted(lines_by_name))
            parts.append(f"### {title}\n\n{lines}")
    for nested in block.block_types:
        lines = "\n".join(_line(a) for a in sorted(nested.block.attributes, key=lambda a: a.name))
        parts.append(f"### Nested Schema for `{nested.type_name}`\n\n{lines}")
    return "\n\n".join(parts)


def _example(path: Path) -> str:
    return f"## Example Usage\n\n```terraform\n{path.read_text().rstrip()}\n```"


def _front_matter(title: str, description: str) -> str:
    first = description.split(". ", 1)[0].rstrip(".") + "."
    return f'---\npage_title: "{title}"\nsubcategory: ""\ndescription: |-\n  {first}\n---'


def _page(title: str, heading: str, schema: Schema, example: Path, extra: str = "") -> str:
    sections = [
        _front_matter(title, schema.block.description),
        f"# {heading}",
        schema.block.description,
    ]
    guide = _INTRO / f"{example.parent.name}.md"
    if guide.exists():
        sections.append(guide.read_text().strip())
    if example.exists():
        sections.append(_example(example))
    sections.append(_schema_section(schema.block))
    if extra:
        sections.append(extra)
    return "\n\n".join(sections) + "\n"


def render() -> dict[Path, str]:
    """Return every docs page keyed by its path relative to the repository."""
    provider = new_provider()
    try:
        schemas = provider.schemas()
    finally:
        provider.close()
    pages = {
        Path("docs/index.md"): _page(
            "alembic Provider",
            "alembic Provider",
            schemas.provider,
            ROOT / "examples/provider/provider.tf",
        )
    }
    for name, schema in schemas.resources.items():
        base = ROOT / "examples/resources" / name
        extra = ""
        if (base / "import.sh").exists():
            command = (base / "import.sh").read_text().rstrip()
            extra = (
                "## Import\n\nImport is supported using the following syntax:\n\n"
                f"```shell\n{command}\n```"
            )
        short = name.removeprefix("alembic_")
        pages[Path(f"docs/resources/{short}.md")] = _page(
            f"{name} Resource - alembic", f"{name} (Resource)", schema, base / "resource.tf", extra
        )
    for name, schema in schemas.data_sources.items():
        base = ROOT / "examples/data-sources" / name
        short = name.removeprefix("alembic_")
        pages[Path(f"docs/data-sources/{short}.md")] = _page(
            f"{name} Data Source - alembic",
            f"{name} (Data Source)",
            schema,
            base / "data-source.tf",
        )
    return pages


def main() -> int:
    for path, text in render().items():
        target = ROOT / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
