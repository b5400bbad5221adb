"""The launcher's fast start: hand Terraform's session to a running warm server at once.

The launcher runs this file as ``python -I -S .../fast_start.py`` when the interpreter file
``install`` wrote names it on its second line. Without ``site`` and with nothing but this
package's lean modules (``rendezvous``: ``settings``, ``sockets``, ``wire``) and the standard
library's C modules, the process reaches the server in a few milliseconds. Whenever it cannot
simply hand over (a launcher of another version, the warm server turned off, no server running,
anything failing before the session confirms it has taken over), it replaces itself with the
regular start, ``python -m alembic_provider`` with the same arguments and environment, which
reports the problem, starts a server or serves in this process, exactly as without the fast
start. It never starts a server itself. The self-contained build of the release archive begins
with :func:`exit_if_served` in the same way and carries on with its regular start in-process.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import NoReturn

    from alembic_provider.rendezvous import wire

__all__ = ["main"]

_COOKIE_VARIABLE = "TF_PLUGIN_MAGIC_COOKIE"
_LAUNCHER_VARIABLE = "TERRAFORM_PROVIDER_ALEMBIC_LAUNCHER"
# The installed package, alembic_provider/ (this file is alembic_provider/entry/fast_start.py).
_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main(argv: Sequence[str]) -> NoReturn:
    """Serve Terraform's session through the warm server, else start the regular way.

    ``--program PATH`` first: the release archive's launcher runs this on behalf of the
    archive's program, which is then the installation and the regular start.
    """
    program = None
    if argv[:1] == ["--program"] and len(argv) > 1:
        program, argv = argv[1], argv[2:]
    exit_if_served(argv, program)
    if program is not None:
        os.execv(program, [program, *argv])
    os.execv(sys.executable, [sys.executable, "-m", "alembic_provider", *argv])


def exit_if_served(argv: Sequence[str], program: str | None = None) -> None:
    """Exit with the session's status once a running warm server has served it; else return.

    The self-contained build of the release archive calls this first thing, then continues
    with the regular start in the same process when it returns.
    """
    handed = None
    if not argv and os.environ.get(_COOKIE_VARIABLE):
        try:
            handed = _hand_over(program)
        except Exception:  # the regular start tries again and says what is wrong
            handed = None
    if handed is None:
        return
    from alembic_provider.rendezvous import wire

    os._exit(wire.relay(handed))


def _hand_over(program: str | None) -> wire.Lines | None:
    """Return the session that has taken over, or None when the regular start must run."""
    from alembic_provider import __version__
    from alembic_provider.rendezvous import settings, sockets, wire

    if os.environ.get(_LAUNCHER_VARIABLE, __version__) != __version__:
        return None
    config = settings.settings(os.environ, program)
    if not config.enabled:
        return None
    settings.private_directory(config.directory)
    connection = sockets.connect(config.socket_path)
    if program is None and getattr(sys, "frozen", False):
        program = sys.executable
    session_argv = [program or os.path.join(_PACKAGE, "__main__.py")]
    try:
        lines = wire.start_session(connection, session_argv, os.environ, fast=True)
    except BaseException:
        connection.close()
        raise
    return lines


def _use_own_package() -> None:
    """Import this package from where this file is, whatever the interpreter's own path says."""
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(_PACKAGE)
    sys.path[:] = [root, *(entry for entry in sys.path if entry not in (here, root))]


if __name__ == "__main__":
    # The C modules come from the standard library, never from the package's directory.
    import _signal  # type: ignore[import-not-found]  # noqa: F401
    import _socket  # noqa: F401
    import select  # noqa: F401

    _use_own_package()
    main(sys.argv[1:])
