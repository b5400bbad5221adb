"""Build Alembic's Config the way the ``alembic`` command line does.

Alembic is imported inside the functions, so importing this module needs only the standard
library. Never imports the provider package.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from tfalembic_errors import ReportedError, quoted

if TYPE_CHECKING:
    Result = dict[str, Any]

__all__ = ["alembic_parser", "load_config", "placeholder_url"]

# The scheme of the URL every ``alembic init`` template writes into alembic.ini
# (``driver://user:pass@localhost/dbname``): no SQLAlchemy dialect is called that.
_PLACEHOLDER_SCHEME = "driver"


_PARSERS: list[Any] = []


def alembic_parser() -> Any:
    """Return Alembic's own command-line parser, built once per process.

    Building it costs more than the rest of a request's set-up (a parser per command, each
    looking up translations), so a warm server builds it before it forks.
    """
    if not _PARSERS:
        from alembic.config import CommandLine

        _PARSERS.append(CommandLine(prog="alembic").parser)
    return _PARSERS[0]


def _cli_options(request: Result, verb: Sequence[str]) -> Any:
    """Parse a command line with Alembic's own parser, so env.py finds every option it reads."""
    from argparse import Namespace

    argv = ["-c", request["config"], "-n", request["section"]]
    argv += ["-x" + item for item in request["x"]]
    try:
        options = alembic_parser().parse_args([*argv, *verb])
    except SystemExit:
        options = Namespace(config=request["config"], name=request["section"])
    options.x = list(request["x"])
    options.tag = request.get("tag")
    return options


def load_config(request: Result, verb: Sequence[str], target: str | None = None) -> Any:
    from alembic.config import Config

    path = request["config"]
    if not os.path.isfile(path):
        raise ReportedError(
            "config",
            f"The Alembic configuration file '{path}' does not exist; set 'config' to an ini "
            "file relative to 'project_root'.",
        )
    options = _cli_options(request, verb)
    if target is not None:
        options.revision = target
    kwargs = {
        "file_": path,
        "ini_section": request["section"],
        "cmd_opts": options,
        "stdout": sys.stdout,
        "output_buffer": io.StringIO(),
    }
    if "toml_file" in Config.__init__.__code__.co_varnames and os.path.isfile("pyproject.toml"):
        kwargs["toml_file"] = "pyproject.toml"
    config = Config(**kwargs)
    sections = config.file_config.sections()
    if request["section"] not in sections:
        raise ReportedError(
            "config",
            f"The section '{request['section']}' is not in '{path}'; set 'section' to one of: "
            f"{quoted(sections) or 'none'}.",
        )
    if request.get("url") is not None:
        config.set_main_option("sqlalchemy.url", request["url"].replace("%", "%%"))
    # Which variables the resource set, for the placeholder URL's message.
    setattr(config, "tfalembic_environment", sorted(request.get("environment") or {}))  # noqa: B010
    return config


def placeholder_url(config: Any, exc: BaseException) -> ReportedError | None:
    """Explain a failure caused by env.py connecting with alembic.ini's placeholder URL.

    The env.py that ``alembic init`` writes reads only ``sqlalchemy.url``; with the ini left as
    generated, SQLAlchemy fails with "Can't load plugin: sqlalchemy.dialects:driver", which says
    nothing about the cause. Returns ``None`` when the failure has another cause.
    """
    if config is None or f"sqlalchemy.dialects:{_PLACEHOLDER_SCHEME}" not in str(exc):
        return None
    url = config.get_main_option("sqlalchemy.url") or ""
    if url.partition("://")[0] != _PLACEHOLDER_SCHEME:
        return None
    requested = getattr(config, "tfalembic_environment", ())
    names = sorted(name for name in requested if "URL" in name.upper())
    fact = (
        "env.py connected with the placeholder URL 'driver://...' that 'alembic init' writes "
        "into alembic.ini."
    )
    if names:
        name = names[0]
        return ReportedError(
            "placeholder_url",
            f"{fact} 'environment' sets {quoted(names)}, but this env.py never reads "
            f"{'it' if len(names) == 1 else 'them'}: like the one 'alembic init' writes, it "
            "connects with sqlalchemy.url from alembic.ini.\n\n"
            "Set 'url' on the resource or the provider instead (the provider passes it to env.py "
            f"as sqlalchemy.url), or make env.py read {name} by adding these lines after "
            "'config = context.config':\n\n"
            "    import os\n\n"
            f'    if os.environ.get("{name}"):\n'
            f'        config.set_main_option("sqlalchemy.url", os.environ["{name}"]'
            '.replace("%", "%%"))',
        )
    return ReportedError(
        "placeholder_url",
        f"{fact} No database URL reached env.py, which connects with sqlalchemy.url.\n\n"
        "Set 'url' on the resource or the provider (the provider passes it to env.py as "
        "sqlalchemy.url), or put the real URL in alembic.ini.",
    )
