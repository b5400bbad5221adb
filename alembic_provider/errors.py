"""The provider's exception tree, grouped by who must act.

::

    ProviderError                 root: message, kind, attribute path, structured facts
    ├── ConfigError               the user's configuration is at fault
    │   └── TargetError           a target that names no revision, several heads, or moves
    ├── StateError                the stored Terraform state cannot be read
    ├── RequestError              a request does not fit the protocol or this provider's schemas
    ├── MigrationError            a migration, env.py or the database failed
    │   ├── LockTimeoutError      another run held the migration lock past lock_timeout
    │   └── CancelledError        Terraform asked the provider to stop mid-operation
    │       └── OperationTimeoutError   the operation ran past its timeout
    ├── WorkerEnvironmentError    the interpreter, its packages or the worker process failed
    │   └── ProxyError            a proxy process failed to start or died
    └── InternalError             a bug in the provider

Messages are user-facing sentences, already redacted by whoever raises them. The dispatch in
``provider.py`` turns an error into a diagnostic with :meth:`ProviderError.diagnostic`; nothing
else formats them. Imports nothing from the provider but the plain diagnostic type.
"""

from __future__ import annotations

from typing import ClassVar

from alembic_provider.diagnostics import AttributePath, Diagnostic

__all__ = [
    "CancelledError",
    "ConfigError",
    "InternalError",
    "LockTimeoutError",
    "MigrationError",
    "OperationTimeoutError",
    "ProviderError",
    "ProxyError",
    "RequestError",
    "StateError",
    "TargetError",
    "WorkerEnvironmentError",
    "describe_heads",
]

_BUG = "This is a bug in the provider; please report it."


def describe_heads(heads: tuple[str, ...]) -> str:
    """Name a set of database heads the way every message does."""
    if not heads:
        return "base (no revision applied)"
    quoted = ", ".join(f"'{head}'" for head in sorted(heads))
    return f"revision {quoted}" if len(heads) == 1 else f"revisions {quoted}"


class ProviderError(Exception):
    """Base class of every error the provider raises on purpose.

    :param attribute: the configuration attribute at fault, when there is one.
    :param summary: a Title-Case diagnostic summary replacing the class default.
    :param kind: a short machine-readable cause, e.g. ``"multiple_heads"`` or ``"migration"``.
    :param revision: the revision that was running or being resolved when it failed.
    :param heads_reached: the database's heads after the failure; ``None`` when unknown.
    :param stderr_tail: the last lines the worker printed, redacted; only for failures the
        worker could not describe itself (it crashed or was stopped).
    :param location: the frame of the user's own code that failed (their env.py or migration
        file and line), formatted like a traceback line, redacted.
    :param remedy: what to do about it, when the message does not say so already.
    """

    default_summary: ClassVar[str] = "Provider Error"

    def __init__(
        self,
        message: str,
        *,
        attribute: AttributePath = (),
        summary: str | None = None,
        kind: str = "error",
        revision: str | None = None,
        heads_reached: tuple[str, ...] | None = None,
        stderr_tail: str = "",
        location: str = "",
        remedy: str = "",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.attribute = attribute
        self.summary = summary or self.default_summary
        self.kind = kind
        self.revision = revision
        self.heads_reached = heads_reached
        self.stderr_tail = stderr_tail
        self.location = location
        self.remedy = remedy

    def detail(self) -> str:
        """Return the diagnostic detail: what failed and where, the database's heads, the remedy.

        The user's own frame stands in for a traceback; the full one is in the provider's log.
        """
        parts = [self.message]
        if self.location:
            parts.append(self.location)
        if self.heads_reached is not None:
            parts.append(f"The database is now at {describe_heads(self.heads_reached)}.")
        if self.remedy:
            parts.append(self.remedy)
        if self.stderr_tail:
            parts.append("Last output of the Alembic worker:\n" + self.stderr_tail)
        return "\n\n".join(parts)

    def diagnostic(self) -> Diagnostic:
        """Return the error diagnostic that reports this error to Terraform."""
        return Diagnostic.error(self.summary, self.detail(), self.attribute)


class ConfigError(ProviderError):
    """Raised when the user's configuration cannot work as written."""

    default_summary = "Invalid Configuration"


class TargetError(ConfigError):
    """Raised when a target is unknown, ambiguous, or relative to the database."""

    default_summary = "Invalid Target Revision"


class StateError(ProviderError):
    """Raised when a stored resource state is malformed and cannot be upgraded or read."""

    default_summary = "Invalid Resource State"


class RequestError(ProviderError):
    """Raised when a request names an unknown type or carries a value that does not fit.

    Terraform itself never sends one; another client, a hand-edited plan or a provider
    source pointing at the wrong provider can. The message names the request field.
    """

    default_summary = "Invalid Request"


class MigrationError(ProviderError):
    """Raised when a migration, env.py or the database fails; says what the database reached."""

    default_summary = "Migration Failed"


class LockTimeoutError(MigrationError):
    """Raised when the migration lock stayed taken for longer than ``lock_timeout``."""

    default_summary = "Migration Lock Timeout"


class CancelledError(MigrationError):
    """Raised when an operation was stopped on request; the worker was killed."""

    default_summary = "Operation Cancelled"


class OperationTimeoutError(CancelledError):
    """Raised when an operation ran past its timeout; the worker was killed."""

    default_summary = "Operation Timed Out"


class WorkerEnvironmentError(ProviderError):
    """Raised when the interpreter, its packages or the worker process itself fail."""

    default_summary = "Alembic Worker Failed"


class ProxyError(WorkerEnvironmentError):
    """Raised when a proxy process cannot be started or stops being usable."""

    default_summary = "Proxy Failed"


class InternalError(ProviderError):
    """Raised when the provider breaks its own contract; always a bug to report."""

    default_summary = "Internal Provider Error"

    def detail(self) -> str:
        return f"{super().detail()}\n\n{_BUG}"
