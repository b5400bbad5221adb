"""The exception tree: who must act, and how an error reads as a diagnostic."""

from __future__ import annotations

import pytest

from alembic_provider import errors
from alembic_provider.diagnostics import Severity


def test_exported_members() -> None:
    assert sorted(errors.__all__) == sorted(
        name
        for name, value in vars(errors).items()
        if not name.startswith("_")
        and ((isinstance(value, type) and issubclass(value, Exception)) or name == "describe_heads")
    )


@pytest.mark.parametrize(
    ("cls", "branch"),
    [
        (errors.TargetError, errors.ConfigError),
        (errors.LockTimeoutError, errors.MigrationError),
        (errors.OperationTimeoutError, errors.CancelledError),
        (errors.CancelledError, errors.MigrationError),
        (errors.ProxyError, errors.WorkerEnvironmentError),
        (errors.StateError, errors.ProviderError),
        (errors.InternalError, errors.ProviderError),
    ],
)
def test_tree(cls: type[errors.ProviderError], branch: type[errors.ProviderError]) -> None:
    assert issubclass(cls, branch)


def test_migration_diagnostic_says_where_the_database_is() -> None:
    error = errors.MigrationError(
        "Revision 'b' failed during upgrade: boom",
        revision="b",
        heads_reached=("a",),
        stderr_tail="Traceback ...",
    )
    diagnostic = error.diagnostic()
    assert diagnostic.severity is Severity.ERROR
    assert diagnostic.summary == "Migration Failed"
    assert diagnostic.detail == (
        "Revision 'b' failed during upgrade: boom\n\n"
        "The database is now at revision 'a'.\n\n"
        "Last output of the Alembic worker:\nTraceback ..."
    )


def test_heads_wording() -> None:
    assert errors.describe_heads(()) == "base (no revision applied)"
    assert errors.describe_heads(("b", "a")) == "revisions 'a', 'b'"


def test_config_error_points_at_the_attribute() -> None:
    error = errors.ConfigError("Bad.", attribute=("target",), summary="Invalid Target Revision")
    assert error.diagnostic().attribute == ("target",)
    assert error.diagnostic().summary == "Invalid Target Revision"
    assert error.diagnostic().detail == "Bad."


def test_internal_error_asks_for_a_report() -> None:
    assert errors.InternalError("Oops.").diagnostic().detail == (
        "Oops.\n\nThis is a bug in the provider; please report it."
    )
