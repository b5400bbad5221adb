"""Guards on the layering DESIGN.md describes."""

from __future__ import annotations

import subprocess
import sys
import textwrap
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
