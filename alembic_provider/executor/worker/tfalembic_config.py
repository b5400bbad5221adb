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

__all__ = ["load_config"]


def _cli_options(request: Result, verb: Sequence[str]) -> Any:
    """Parse a command line with Alembic's own parser, so env.py finds every option it reads."""
    from argparse import Namespace

    from alembic.config import CommandLine

    argv = ["-c", request["config"], "-n", request["section"]]
    argv += ["-x" + item for item in request["x"]]
    try:
        options = CommandLine(prog="alembic").parser.parse_args([*argv, *verb])
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
    return config
