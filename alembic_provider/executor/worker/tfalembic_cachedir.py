"""The provider's cache directory, and the worker's own bytecode kept in it.

The directory is ``$TERRAFORM_PROVIDER_ALEMBIC_CACHE_DIR``, else ``terraform-provider-alembic``
under ``$XDG_CACHE_HOME`` or ``~/.cache``; the script graph cache lives there too.

The worker runs with ``-B``, so that nothing it imports writes bytecode beside a project's
files (env.py, the revisions, the models). Its own modules would then be compiled anew by
every interpreter it starts (some 5000 lines, tens of milliseconds on each cold start and
each fresh ``worker run``) wherever no installer compiled them for that interpreter's version:
the release archive, or a project's Python other than the provider's. There their bytecode goes
to ``bytecode/`` in the provider's cache directory (mode 0700) instead, the way
``PYTHONPYCACHEPREFIX`` would put it, for the worker's own modules alone: everything else keeps
``-B``. Standard library only; never imports the provider package.
"""

from __future__ import annotations

import contextlib
import importlib.machinery
import importlib.util
import os
import sys
from collections.abc import Iterator
from typing import Any

__all__ = ["CACHE_DIR_VARIABLE", "cache_directory", "own_bytecode"]

CACHE_DIR_VARIABLE = "TERRAFORM_PROVIDER_ALEMBIC_CACHE_DIR"
# The worker's own modules, beside this file.
_DIRECTORY = os.path.dirname(os.path.abspath(__file__))
_PREFIX = "tfalembic_"


def cache_directory() -> str:
    """The provider's cache directory, as this process's environment names it."""
    base = os.environ.get(CACHE_DIR_VARIABLE)
    if base:
        return base
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(xdg, "terraform-provider-alembic")


class _Loader(importlib.machinery.SourceFileLoader):
    """Loads a worker module with its bytecode under ``prefix``, unless an installer compiled
    it beside its source for this Python (pip does): that is read as always. Nothing else
    the module imports is concerned."""

    def __init__(self, fullname: str, path: str, prefix: str) -> None:
        super().__init__(fullname, path)
        self.prefix = prefix

    def get_code(self, fullname: str) -> Any:
        saved = sys.pycache_prefix, sys.dont_write_bytecode
        try:
            sys.pycache_prefix = None
            if not os.path.exists(importlib.util.cache_from_source(self.path)):
                sys.pycache_prefix, sys.dont_write_bytecode = self.prefix, False
            return super().get_code(fullname)
        finally:
            sys.pycache_prefix, sys.dont_write_bytecode = saved


class _Finder:
    """Finds the worker's own modules, for :class:`_Loader`."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def find_spec(self, fullname: str, path: object = None, target: object = None) -> Any:
        source = os.path.join(_DIRECTORY, fullname + ".py")
        if not fullname.startswith(_PREFIX) or not os.path.isfile(source):
            return None
        loader = _Loader(fullname, source, self.prefix)
        return importlib.util.spec_from_file_location(fullname, source, loader=loader)


@contextlib.contextmanager
def own_bytecode() -> Iterator[None]:
    """Within: the worker's own modules load with their bytecode under the cache directory."""
    prefix = os.path.join(cache_directory(), "bytecode")
    try:
        os.makedirs(prefix, mode=0o700, exist_ok=True)
    except OSError:  # no cache directory: compile in memory, as before
        yield
        return
    finder = _Finder(prefix)
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)
