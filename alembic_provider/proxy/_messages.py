"""Say why a proxy is not usable, in the words users read, from what its machine recorded.

The manager asks; this module only words the answer: the command, how it ended, the attribute
to fix and the last lines it printed, all passed through the proxy's redactor. Never reads a
process or a clock, and never decides whether a proxy failed: ``statemachine.proxy`` does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from alembic_provider import childproc
from alembic_provider.childproc import ended
from alembic_provider.errors import ProxyError
from statemachine.proxy import Failure

if TYPE_CHECKING:
    from alembic_provider.diagnostics import AttributePath
    from alembic_provider.proxy.spec import ProxySpec
    from alembic_provider.redaction import Redactor
    from statemachine.proxy import ProxyLifecycle

__all__ = ["command_text", "ended", "proxy_error", "tail"]

_TAIL_LINES = 20
_SHOWS_OUTPUT = (Failure.EXITED_BEFORE_READY, Failure.READY_TIMEOUT, Failure.EXITED_WHILE_READY)


def command_text(spec: ProxySpec) -> str:
    """Return the command as users wrote it, a list in Python's spelling."""
    return repr(list(spec.command))


def tail(text: str) -> str:
    """Return the last lines of what a proxy printed, enough to show why it failed."""
    return childproc.tail(text, _TAIL_LINES)


def proxy_error(spec: ProxySpec, model: ProxyLifecycle, redactor: Redactor) -> ProxyError:
    """Describe why the proxy for ``spec`` is not usable; no recorded failure means shutdown."""
    failure = model.failure
    command = command_text(spec)
    how = ended(model.exit_status)
    attribute: AttributePath = ()
    output = model.output
    if failure is Failure.SPAWN_FAILED:
        message = (
            f"The proxy command {command} {failure.value}: {output}. Check "
            "'proxy_command': its first element must name an executable, by full path or "
            "on PATH."
        )
        attribute = ("proxy_command",)
    elif failure is Failure.EXITED_BEFORE_READY:
        message = f"The proxy command {command} {failure.value} ({how})."
        if model.exit_status == 0:
            message += (
                " A proxy must keep running in the foreground while it serves connections "
                "(for ssh, leave out -f)."
            )
    elif failure is Failure.READY_TIMEOUT:
        message = (
            f"The proxy command {command} {failure.value}: nothing accepted a connection "
            f"on '{spec.ready}' within {spec.timeout:g} seconds, so it was stopped "
            f"({how}). Check that 'proxy_ready' names the address the proxy listens on, "
            "or raise 'proxy_timeout'."
        )
        attribute = ("proxy_ready",)
    elif failure is Failure.EXITED_WHILE_READY:
        message = (
            f"The proxy command {command} {failure.value} ({how}); the operation that "
            "needed it was stopped."
        )
    else:
        message = f"The proxy command {command} was stopped because the provider is shutting down."
    if failure in _SHOWS_OUTPUT:
        message += (
            f"\n\nLast output of the proxy:\n{output}"
            if output
            else "\n\nThe proxy printed nothing."
        )
    return ProxyError(redactor.redact(message), attribute=attribute, kind="proxy")
