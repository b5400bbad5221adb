"""Command line: serve Terraform (default), ``--debug``, ``install``, ``daemon`` and ``--version``.

Terraform runs the provider with no arguments, usually through the launcher ``install`` writes;
a person runs ``install`` once (``install --uninstall`` undoes it), may use ``--debug`` to
attach Terraform to a provider started by hand, and ``daemon status|stop`` to look at or stop
the warm servers. Stays light: nothing heavy is imported before it is known that this process
serves, and a session Terraform starts is first offered to the warm server (``handoff.py``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from alembic_provider import __version__

if TYPE_CHECKING:
    import argparse
    from pathlib import Path

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    import argparse
    from pathlib import Path

    parser = argparse.ArgumentParser(
        prog="terraform-provider-alembic",
        description="Terraform provider that runs Alembic migrations. Terraform starts it "
        "itself; run 'install' once to make it available.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--debug",
        action="store_true",
        help="serve without Terraform and print the TF_REATTACH_PROVIDERS value to export",
    )
    parser.add_argument(
        "--source",
        default=None,
        help="provider source address for --debug (default: terraform.local/alembic/alembic)",
    )
    commands = parser.add_subparsers(dest="command")
    install = commands.add_parser(
        "install", help="make this provider available to 'terraform init' (works offline)"
    )
    install.add_argument(
        "--dir",
        type=Path,
        default=None,
        help="plugin directory to install into (default: ~/.terraform.d/plugins)",
    )
    install.add_argument(
        "--source",
        dest="install_source",
        default=None,
        help="provider source address HOST/NAMESPACE/alembic "
        "(default: terraform.local/alembic/alembic)",
    )
    install.add_argument(
        "--uninstall",
        action="store_true",
        help="remove the launcher and the interpreter file an earlier 'install' wrote",
    )
    daemon = commands.add_parser(
        "daemon",
        help="show or stop this user's warm servers (the provider's and the Alembic worker's), "
        "which make start-up fast",
    )
    daemon.add_argument("action", choices=("status", "stop", "serve"))
    daemon.add_argument("--socket", default=None, help=argparse.SUPPRESS)
    daemon.add_argument("--idle", type=float, default=None, help=argparse.SUPPRESS)
    return parser


def _install(directory: Path | None, source: str | None, *, remove: bool) -> int:
    from alembic_provider.errors import ConfigError
    from alembic_provider.install import (
        DEFAULT_SOURCE,
        install,
        provider_block,
        required_providers_block,
        uninstall,
    )

    if getattr(sys, "frozen", False):
        sys.stderr.write(
            "Error: this is the self-contained build of terraform-provider-alembic, which "
            "Terraform installs from a provider mirror or registry; 'install' belongs to the "
            "Python package (pipx install of a checkout, or of the wheel 'make release' "
            "builds).\n"
        )
        return 2
    try:
        if remove:
            actions = uninstall(directory, source or DEFAULT_SOURCE, python=sys.executable)
            sys.stdout.write("".join(f"{action.describe()}\n" for action in actions))
            return 0
        result = install(directory, source or DEFAULT_SOURCE, python=sys.executable)
    except ConfigError as exc:
        sys.stderr.write(f"Error: {exc}\n")
        return 2
    summary = "Installed" if result.changed else "Already installed"
    sys.stdout.write(
        "".join(f"{action.describe()}\n" for action in result.actions)
        + f"{summary} {result.source} {result.version}.\n\n"
        "Use it in your Terraform configuration with:\n\n"
        f"{required_providers_block(result.source, result.version)}\n{provider_block()}"
    )
    if result.replaced:
        sys.stdout.write(
            "\nThis replaced a launcher from an earlier release of the same version: in working "
            "directories that locked it, delete its .terraform.lock.hcl entry for this provider "
            "and run 'terraform init' again.\n"
        )
    return 0


def _launcher_mismatch(environ: Mapping[str, str]) -> str | None:
    """Explain why a launcher of another version must not run this installation, if it is so."""
    launcher = environ.get("TERRAFORM_PROVIDER_ALEMBIC_LAUNCHER")
    if launcher is None or launcher == __version__:
        return None
    return (
        f"The terraform-provider-alembic {launcher} launcher found version {__version__} "
        f"installed in '{sys.executable}'. Install {launcher} (pipx install of its checkout or "
        "of its wheel, then terraform-provider-alembic install), or change the version your "
        "configuration requires and run 'terraform init -upgrade'."
    )


def main(argv: Sequence[str] | None = None) -> int:
    if argv is None and len(sys.argv) == 1 and os.environ.get("TF_PLUGIN_MAGIC_COOKIE"):
        # How Terraform starts us, on every command: skip everything a person's use needs.
        _launcher_check_and_handoff()
    args = _parser().parse_args(argv)
    if args.command == "install":
        return _install(args.dir, args.install_source, remove=args.uninstall)
    if args.command == "daemon":
        return _daemon(args.action, args.socket, args.idle)
    mismatch = _launcher_mismatch(os.environ)
    if mismatch is not None:
        sys.stderr.write(f"{mismatch}\n")
        if os.environ.get("TF_PLUGIN_MAGIC_COOKIE"):
            # Terraform shows the first line of a failed plugin's stdout, never its stderr.
            sys.stdout.write(f"{mismatch}\n")
        return 1

    if args.debug:
        from alembic_provider.entry.session import serve_debug
        from alembic_provider.install import DEFAULT_SOURCE

        return serve_debug(args.source or DEFAULT_SOURCE)
    if os.environ.get("TF_PLUGIN_MAGIC_COOKIE"):
        _launcher_check_and_handoff()
    from alembic_provider.entry.session import serve_managed

    status = serve_managed()
    # Everything is released by now; skipping interpreter teardown (gRPC's threads) makes the
    # exit immediate, and Terraform waits for it after every command phase.
    sys.stderr.flush()
    os._exit(status)


def _launcher_check_and_handoff() -> None:
    """Refuse a mismatched launcher, else let the warm server serve; exit when it did."""
    mismatch = _launcher_mismatch(os.environ)
    if mismatch is not None:
        sys.stderr.write(f"{mismatch}\n")
        # Terraform shows the first line of a failed plugin's stdout, never its stderr.
        sys.stdout.write(f"{mismatch}\n")
        sys.stdout.flush()
        os._exit(1)
    from alembic_provider.entry.handoff import handoff

    handed = handoff(sys.argv, os.environ)
    if handed is not None:
        os._exit(handed)


def _daemon(action: str, socket_path: str | None, idle: float | None) -> int:
    from alembic_provider.entry import daemon
    from alembic_provider.rendezvous.settings import settings

    config = settings()
    if action == "serve":
        from alembic_provider.entry.warm_server import run_server

        return run_server(
            socket_path or config.socket_path, config.idle_seconds if idle is None else idle
        )
    if action == "stop":
        return daemon.stop(config)
    return daemon.status(config)
