"""Executor data types: secrets masked in repr, derived views consistent."""

from __future__ import annotations

from alembic_provider.executor import Inspection, PendingStep, Project, Step


def test_project_repr_masks_url_password_and_environment() -> None:
    project = Project(
        "/srv/app",
        url="postgresql://app:s3cretpw@db/app",
        environment={"DATABASE_URL": "postgresql://app:envsecret@db/app", "TOKEN": "tok"},
        extra={"tenant": "acme"},
    )
    text = repr(project)
    assert "s3cretpw" not in text
    assert "envsecret" not in text
    assert "tok'" not in text
    assert "postgresql://app:***@db/app" in text
    assert "'TOKEN': '***'" in text
    assert "'tenant': 'acme'" in text
    assert str(project) == text


def test_project_redactor_knows_its_secrets() -> None:
    project = Project(
        "/srv/app",
        url="postgresql://app:s3cretpw@db/app",
        environment={"API_TOKEN": "token-value"},
    )
    redactor = project.redactor()
    assert redactor.redact("s3cretpw token-value") == "*** ***"


def test_inspection_views() -> None:
    steps = (Step("a", "first"),)
    inspection = Inspection((), ("a",), "upgrade", steps, ("a",), "sqlite")
    assert inspection.pending == PendingStep((), ("a",), "upgrade", steps)
    assert inspection.target_heads == ("a",)
    assert not inspection.at_target
    assert Step("a", "first") == ("a", "first")
