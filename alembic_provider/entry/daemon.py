"""``daemon status`` and ``daemon stop``: every warm server of this user, shown or stopped.

A user may run several at once: one provider warm server per installation (a pipx install, the
demo's environment, a checkout) and one Alembic worker server per project interpreter. All of
them listen in the same private directory, so both commands go through all of it.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from alembic_provider.rendezvous import control
from alembic_provider.rendezvous.settings import ENABLE_VARIABLE, Settings

__all__ = ["describe", "status", "stop"]


def status(config: Settings) -> int:
    """Print every server of this user; 1 when none runs."""
    if not config.enabled:
        sys.stdout.write(f"The warm server is turned off ({ENABLE_VARIABLE}).\n")
    found = control.servers(config)
    if not found:
        sys.stdout.write(f"No warm server of this user is running ({config.directory}).\n")
        return 1
    sys.stdout.write("\n".join(describe(server) for server in found))
    return 0


def stop(config: Settings) -> int:
    """Stop every server of this user and remove the files they leave."""
    done = control.stop_all(config)
    sys.stdout.write("".join(f"{line}\n" for line in done) or "No warm server is running.\n")
    return 0


def describe(server: control.Server) -> str:
    """Return the lines that show one server: what it runs, where from, its use and memory."""
    if server.status is None:
        return (
            f"Nothing answers at {server.path}: a server still starting, or one that is gone "
            "('daemon stop' removes what is left).\n"
        )
    info = server.status
    if server.worker:
        title = (
            f"Worker server {_say(info, 'pid')} for terraform-provider-alembic "
            f"{_say(info, 'version')} (Alembic {_say(info, 'alembic')}, "
            f"SQLAlchemy {_say(info, 'sqlalchemy')}, Python {_say(info, 'python')})"
        )
        use = (
            f"{_say(info, 'operations')} operations; {_say(info, 'providers')} provider processes "
            f"connected, up {_say(info, 'uptime_seconds')} s"
        )
        since = "the last provider process left"
        use += _kept(info)
    else:
        title = (
            f"Warm server {_say(info, 'pid')} for terraform-provider-alembic "
            f"{_say(info, 'version')}"
        )
        use = (
            f"{_say(info, 'sessions')} served ({_say(info, 'fast_starts')} through the launcher's "
            f"fast start), up {_say(info, 'uptime_seconds')} s"
        )
        since = "the last session"
    return (
        f"{title}\n"
        f"  installation: {_say(info, 'installation')}\n"
        f"  interpreter: {_say(info, 'interpreter')}\n"
        f"  sessions: {use}\n"
        f"  idle: {_idle(info, since)}\n"
        f"  memory: {_say(info, 'rss_kib')} KiB resident\n"
        f"  socket: {server.path}\n"
    )


def _say(info: Mapping[str, Any], key: str) -> str:
    """Show one value of a server's answer; what an older server does not say is ``unknown``."""
    value = info.get(key)
    return "unknown" if value is None or value == "" else str(value)


def _kept(info: Mapping[str, Any]) -> str:
    """The imports a worker server keeps warm for its requests (see the README's speed section)."""
    if info.get("kept_modules") is None:
        return ""
    packages = ", ".join(str(name) for name in info.get("kept_packages") or []) or "none"
    staying = info.get("lingering_workers")
    return (
        f"\n  kept imports: {info['kept_modules']} modules ({packages}); "
        f"{_say(info, 'refused_modules')} refused"
        + ("" if staying is None else f"\n  workers staying for their command: {staying}")
    )


def _idle(info: Mapping[str, Any], since: str) -> str:
    limit = f"exits after {_say(info, 'idle_seconds')} s without use"
    if info.get("providers"):
        return f"in use; {limit}"
    return f"{_say(info, 'idle_for_seconds')} s since {since}; {limit}"
