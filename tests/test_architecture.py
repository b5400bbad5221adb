"""Guards on the floors docs/architecture.md describes."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tests.alembic_projects import Revision, make_project, sqlite_url

ROOT = Path(__file__).resolve().parent.parent


def _run(code: str) -> str:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout


def test_the_provider_process_never_imports_alembic_or_sqlalchemy(tmp_path: Path) -> None:
    """Plan, apply and read a real project in-process; the work happens in worker processes."""
    project = make_project(
        tmp_path, url=sqlite_url(tmp_path / "db.sqlite"), revisions=[Revision("a1", None, "first")]
    )
    out = _run(
        f"""
        import sys
        from alembic_provider.provider import new_provider
        from alembic_provider.provider_config import PROVIDER_SCHEMA
        from alembic_provider.schema import empty_object

        provider = new_provider()
        config = empty_object(PROVIDER_SCHEMA.block) | {{"project_root": {str(project)!r}}}
        provider.configure("1.0.3", config)
        resource = empty_object(provider.resource_schema("alembic_upgrade").block)
        planned, diags = provider.plan_resource_change(
            "alembic_upgrade", None, resource, resource, b""
        )
        assert not diags.has_errors, list(diags)
        applied, diags = provider.apply_resource_change(
            "alembic_upgrade", None, planned.state, resource, planned.private
        )
        assert not diags.has_errors, list(diags)
        assert applied.state["revision"] == "a1", applied.state
        provider.read_resource("alembic_upgrade", applied.state, b"")
        provider.close()
        print(sorted(m for m in sys.modules if m.split(".")[0] in ("alembic", "sqlalchemy")))
        """
    )
    assert out.strip() == "[]"


def test_statemachine_imports_nothing_from_the_provider() -> None:
    out = _run(
        """
        import sys
        import statemachine.resource, statemachine.proxy
        print(sorted(m for m in sys.modules if m.startswith("alembic_provider")))
        """
    )
    assert out.strip() == "[]"


def test_the_codec_needs_neither_grpc_nor_protobuf() -> None:
    out = _run(
        """
        import sys
        import alembic_provider.cty
        print(sorted(m for m in sys.modules if m.split(".")[0] in ("grpc", "google")))
        """
    )
    assert out.strip() == "[]"


# The floors of the house, top to bottom (docs/architecture.md): a module imports from
# its own floor and the floors below it, never from one above. Every module under
# alembic_provider/ and statemachine/ has the floor of its longest listed prefix; a new package
# gets its floor here when it is added.
FLOORS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("entry points", ("alembic_provider.__main__", "alembic_provider.entry")),
    ("transport", ("alembic_provider.plugin",)),
    ("dispatch", ("alembic_provider.provider",)),
    ("types", ("alembic_provider.resources", "alembic_provider.data_sources")),
    ("framework", ("alembic_provider.framework",)),
    (
        "effects",
        ("alembic_provider.executor", "alembic_provider.proxy", "alembic_provider.install"),
    ),
    (
        "shared",
        (
            "statemachine",
            "alembic_provider.cty",
            "alembic_provider.provider_config",
            "alembic_provider.schema",
            "alembic_provider.errors",
            "alembic_provider.diagnostics",
            "alembic_provider.redaction",
            "alembic_provider.log",
            "alembic_provider.durations",
            "alembic_provider.bundle",
            "alembic_provider.childproc",
            "alembic_provider.review",
        ),
    ),
    ("rendezvous", ("alembic_provider.rendezvous",)),
    ("version", ("alembic_provider",)),
)
# The package root holds the version only; listed above, it names that one module, not the
# whole package.
_ROOT = "alembic_provider"
# Pairs on one floor where the first must not import the second: provider.py runs the
# framework, never the other way round.
FORBIDDEN = (("alembic_provider.framework", "alembic_provider.provider"),)
_PACKAGES = ("alembic_provider", "statemachine")
# Python 3.12's name for the C SHA-256 module that rendezvous/settings.py tries first.
_STDLIB = sys.stdlib_module_names | {"_sha2"}


@dataclass(frozen=True)
class Import:
    """One import of one of our modules: who imports what, and where."""

    importer: str
    imported: str
    path: Path
    line: int

    def __str__(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}: {self.importer} imports {self.imported}"


def _within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def _modules() -> dict[str, Path]:
    """Every module of ours by dotted name (a package by its own name, for its ``__init__``)."""
    found = {}
    for package in _PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "__pycache__" in path.parts:
                continue
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _is_import_call(node: ast.AST) -> bool:
    """``import_module("x")``, ``importlib.import_module("x")`` or ``__import__("x")``."""
    if not isinstance(node, ast.Call) or not node.args:
        return False
    func = node.func
    named = (isinstance(func, ast.Name) and func.id in ("import_module", "__import__")) or (
        isinstance(func, ast.Attribute) and func.attr == "import_module"
    )
    first = node.args[0]
    return named and isinstance(first, ast.Constant) and isinstance(first.value, str)


def _names(node: ast.AST, importer: str, path: Path, modules: Mapping[str, Path]) -> list[str]:
    """Return the dotted names ``node`` imports when it is an import of any kind, else []."""
    package = importer if path.name == "__init__.py" else importer.rpartition(".")[0]
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom):
        if node.level:
            base = package.split(".")[: len(package.split(".")) - node.level + 1]
            module = ".".join([*base, *([node.module] if node.module else [])])
        else:
            module = node.module or ""
        # ``from package import submodule`` imports the submodule; any other name comes from
        # the package itself, that is from its ``__init__`` and whatever that re-exports.
        names = [
            f"{module}.{alias.name}" if f"{module}.{alias.name}" in modules else module
            for alias in node.names
        ]
    elif _is_import_call(node):
        assert isinstance(node, ast.Call) and isinstance(node.args[0], ast.Constant)
        names = [str(node.args[0].value)]
    else:
        return []
    if not (path.parent / "__init__.py").exists():
        # A directory run as a script (the worker): its files import each other by bare name.
        names = [f"{package}.{n}" if f"{package}.{n}" in modules else n for n in names]
    return list(dict.fromkeys(names))


def _ours(name: str, modules: Mapping[str, Path]) -> str | None:
    """Return the module of ours that importing ``name`` runs: itself or its longest prefix."""
    if name.split(".", maxsplit=1)[0] not in _PACKAGES:
        return None
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def _imports() -> list[Import]:
    modules = _modules()
    found = []
    for importer, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            for name in _names(node, importer, path, modules):
                imported = _ours(name, modules)
                if imported is not None and imported != importer:
                    found.append(Import(importer, imported, path, getattr(node, "lineno", 0)))
    return found


def _floor(module: str) -> int | None:
    """Return the index in :data:`FLOORS` of the floor ``module`` is on."""
    matches = [
        (len(prefix), index)
        for index, (_name, prefixes) in enumerate(FLOORS)
        for prefix in prefixes
        if (module == prefix if prefix == _ROOT else _within(module, prefix))
    ]
    return max(matches)[1] if matches else None


def _cycle(graph: Mapping[str, set[str]]) -> list[str] | None:
    """Return one cycle of ``graph`` as a path that ends where it starts, or None."""
    done: set[str] = set()
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        stack.append(node)
        for successor in sorted(graph.get(node, ())):
            if successor in stack:
                return [*stack[stack.index(successor) :], successor]
            if successor not in done and (found := visit(successor)) is not None:
                return found
        stack.pop()
        done.add(node)
        return None

    for node in sorted(graph):
        if node not in done and (found := visit(node)) is not None:
            return found
    return None


def test_the_cycle_finder_reports_the_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycle(graph) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_every_kind_of_import_is_seen(tmp_path: Path) -> None:
    """Imports in functions, ``TYPE_CHECKING`` blocks and by name all count."""
    modules = {"alembic_provider.a": ROOT / "alembic_provider/a.py", "alembic_provider": ROOT}
    modules |= {"alembic_provider.a.b": ROOT / "alembic_provider/a/b.py"}
    source = textwrap.dedent(
        """
        from typing import TYPE_CHECKING
        from . import a
        if TYPE_CHECKING:
            from alembic_provider.a import b, thing
        def f():
            import importlib
            importlib.import_module("alembic_provider.a.b")
        """
    )
    path = ROOT / "alembic_provider" / "x.py"
    seen = [
        name
        for node in ast.walk(ast.parse(source))
        for name in _names(node, "alembic_provider.x", path, modules)
        if _ours(name, modules)
    ]
    assert sorted(seen) == [
        "alembic_provider.a",
        "alembic_provider.a",
        "alembic_provider.a.b",
        "alembic_provider.a.b",
    ]


def test_every_module_has_a_floor() -> None:
    unplaced = sorted(module for module in _modules() if _floor(module) is None)
    assert not unplaced, f"give these modules a floor in FLOORS: {unplaced}"


def test_no_import_cycle_between_modules() -> None:
    graph: dict[str, set[str]] = {}
    for found in _imports():
        graph.setdefault(found.importer, set()).add(found.imported)
    cycle = _cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_no_import_runs_up_a_floor() -> None:
    upward = []
    for found in _imports():
        importer, imported = _floor(found.importer), _floor(found.imported)
        if importer is not None and imported is not None and imported < importer:
            upward.append(f"{found} (from '{FLOORS[importer][0]}' up to '{FLOORS[imported][0]}')")
        upward += [
            f"{found} ({low} must not import {high})"
            for low, high in FORBIDDEN
            if _within(found.importer, low) and _within(found.imported, high)
        ]
    assert not upward, "imports that run up a floor:\n" + "\n".join(upward)


_RENDEZVOUS_AND_BELOW = range([name for name, _prefixes in FLOORS].index("rendezvous"), len(FLOORS))


def test_the_rendezvous_floor_needs_only_the_standard_library() -> None:
    """Of ours, rendezvous imports only itself and the version; ``sockets.py`` not even that.

    The worker loads ``rendezvous/sockets.py`` by its path, in the user's interpreter.
    """
    modules = _modules()
    beyond = []
    for importer, path in modules.items():
        if not _within(importer, "alembic_provider.rendezvous"):
            continue
        alone = importer == "alembic_provider.rendezvous.sockets"
        for node in ast.walk(ast.parse(path.read_text())):
            for name in _names(node, importer, path, modules):
                top = name.split(".")[0]
                if top in _STDLIB:
                    continue
                ours = _ours(name, modules)
                if not alone and ours is not None and _floor(ours) in _RENDEZVOUS_AND_BELOW:
                    continue
                beyond.append(f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}: {name}")
    assert not beyond, "rendezvous imports beyond the standard library:\n" + "\n".join(beyond)


#: What a resource handler may read of the lifecycle: the outcome and the snapshot it keeps.
#: ``compat.py`` alone builds a lifecycle for a state the Go provider wrote, in PRESENT.
_LIFECYCLE_NAMES = ("State", "Decision", "TABLES", "MACHINES")
_LIFECYCLE_FIELDS = ("state", "decision", "pending", "kind", "heads", "planned_from")


def _is_resource_kind(node: ast.expr) -> bool:
    """``self.kind``, ``life.kind`` or ``snapshot.kind``: which resource type this is."""
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "kind"
        and isinstance(node.value, ast.Name)
        and node.value.id in ("self", "life", "snapshot")
    )


def test_resource_handlers_never_branch_on_the_lifecycle_or_the_kind() -> None:
    """The machine decides: handlers read ``life.outcome``, never its state, decision or kind.

    ``kind`` is only passed on (to build the lifecycle of the resource's own kind); a handler
    that compares it, or reads what the lifecycle decided any other way than through the
    outcome, is taking a decision of its own.
    """
    found = []
    for path in sorted((ROOT / "alembic_provider" / "resources").rglob("*.py")):
        tree = ast.parse(path.read_text())
        where = path.relative_to(ROOT)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "statemachine.resource":
                allowed = path.name == "compat.py"
                names = [a.name for a in node.names if a.name in _LIFECYCLE_NAMES]
                if names and not (allowed and names == ["State"]):
                    found.append(f"{where}:{node.lineno}: imports {', '.join(names)}")
            if isinstance(node, ast.Compare):
                for side in (node.left, *node.comparators):
                    if _is_resource_kind(side) and path.name != "compat.py":
                        found.append(f"{where}:{node.lineno}: compares a kind")
            if (
                isinstance(node, ast.Attribute)
                and node.attr in _LIFECYCLE_FIELDS
                and isinstance(node.value, ast.Name)
                and node.value.id == "life"
            ):
                found.append(f"{where}:{node.lineno}: reads life.{node.attr}")
    assert not found, "handlers deciding outside the machine:\n" + "\n".join(found)
