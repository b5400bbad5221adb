"""Find the Python command that runs the worker for a project.

``python`` wins when set. Otherwise a Go-provider-style ``alembic`` command is translated into
the interpreter it would run: ``["poetry", "run", "alembic"]`` becomes
``["poetry", "run", "python"]``, and a bare or absolute ``alembic`` script is read for its
shebang. Anything else is a configuration error that asks for ``python``. With neither, the
provider's own interpreter runs the worker (``python3`` from ``PATH`` for the self-contained
build, which has no interpreter of its own). Never starts a process and never imports alembic.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
from collections.abc import Mapping, Sequence

from alembic_provider.bundle import helper_python
from alembic_provider.errors import ConfigError
from alembic_provider.executor.messages import Project

__all__ = ["python_command"]

_PYTHON_NAME = re.compile(r"^(?:python|pypy)[\d.]*(?:\.exe)?$")
_ALEMBIC_NAME = re.compile(r"^alembic(?:\.exe)?$")
# pip writes this two-line launcher when the interpreter path is too long for a shebang.
_SH_LAUNCHER = re.compile(r"^'''exec' (?P<command>.+?) \"\$0\" \"\$@\"")
_SET_PYTHON = "set 'python' to the project's interpreter, e.g. [\"/srv/app/.venv/bin/python\"]"


def python_command(project: Project, environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """Return the command that starts the user's interpreter for ``project``.

    :param environ: the environment the worker will get; its ``PATH`` finds bare commands.
    :raises ConfigError: when an ``alembic`` command gives no way to find its interpreter.
    """
    if project.python:
        return _anchor(project.python, project.project_root)
    if not project.alembic:
        return (helper_python(),)
    env = dict(os.environ if environ is None else environ)
    return _from_alembic(project.alembic, project.project_root, env.get("PATH", os.defpath))


def _anchor(command: Sequence[str], root: str) -> tuple[str, ...]:
    """Make a relative executable path absolute against the project root, like a shell in it."""
    first = command[0]
    if os.sep in first and not os.path.isabs(first):
        first = os.path.normpath(os.path.join(root, first))
    return (first, *command[1:])


def _from_alembic(command: Sequence[str], root: str, path: str) -> tuple[str, ...]:
    names = [os.path.basename(part) for part in command]
    alembic_at = next((i for i, name in enumerate(names) if _ALEMBIC_NAME.match(name)), None)
    if alembic_at is None:
        raise ConfigError(
            f"The alembic command {list(command)!r} does not name an 'alembic' executable, so "
            f"the provider cannot tell which Python it uses; {_SET_PYTHON}.",
            attribute=("alembic",),
        )
    if alembic_at > 0 and command[alembic_at - 1] == "-m":
        return _anchor(command[: alembic_at - 1], root)
    prefix = tuple(command[:alembic_at])
    if prefix and _PYTHON_NAME.match(os.path.basename(prefix[0])):
        return _anchor(prefix, root)
    if prefix:
        return (*_anchor(prefix, root), "python")
    return _shebang_python(_anchor(command[:1], root)[0], root, path, command)


def _shebang_python(script: str, root: str, path: str, command: Sequence[str]) -> tuple[str, ...]:
    found = script if os.sep in script else shutil.which(script, path=path)
    if found is None or not os.path.isfile(found):
        raise ConfigError(
            f"The alembic command '{script}' was not found (searched PATH from {root!r}); "
            f"{_SET_PYTHON}.",
            attribute=("alembic",),
        )
    try:
        with open(found, "rb") as handle:
            head = handle.read(4096).decode("utf-8", errors="replace").splitlines()
    except OSError as exc:
        raise ConfigError(
            f"The alembic command '{found}' could not be read ({exc}); {_SET_PYTHON}.",
            attribute=("alembic",),
        ) from exc
    interpreter = _interpreter_of(head, path)
    if interpreter is None:
        raise ConfigError(
            f"The alembic command {list(command)!r} resolves to '{found}', which does not say "
            f"which Python runs it (no Python shebang); {_SET_PYTHON}.",
            attribute=("alembic",),
        )
    return interpreter


def _interpreter_of(lines: Sequence[str], path: str) -> tuple[str, ...] | None:
    if not lines or not lines[0].startswith("#!"):
        return None
    words = shlex.split(lines[0][2:].strip())
    if words and os.path.basename(words[0]) == "sh" and len(lines) > 1:
        match = _SH_LAUNCHER.match(lines[1])
        return tuple(shlex.split(match.group("command"))) if match else None
    if words and os.path.basename(words[0]) == "env":
        words = [word for word in words[1:] if not word.startswith("-")]
        if not words:
            return None
        found = shutil.which(words[0], path=path)
        words[0] = found or words[0]
    if not words or not _PYTHON_NAME.match(os.path.basename(words[0])):
        return None
    return tuple(words)
