"""Remember the script directory's graph so that reading it runs no revision module.

Loading a ScriptDirectory executes every revision file, which dominates a plan on a long
history. What plan and refresh need of those modules is small: ids, parents, branch labels,
dependencies and docstrings. This module keeps exactly that in a per-user cache file, keyed
by the size, times and inode of every file in every version location (and by the Alembic and
Python versions), and rebuilds the revision map from it with scripts that load their module
only when a migration actually runs, at most once per process. Any added, removed, renamed or
edited file changes the key, so a stale graph is never used; the cache is only written when
the files did not change while they were being loaded.

Standard library only at import time; never imports the provider package. A cache that cannot
be read or written is ignored: the graph is then loaded the usual way.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import sys
import tempfile
import time
from collections.abc import Iterator
from typing import Any

from tfalembic_alembic import revisions_in_load_order
from tfalembic_cachedir import cache_directory
from tfalembic_files import QUIET_NS

__all__ = ["DISABLE_VARIABLE", "load_graph"]

DISABLE_VARIABLE = "TERRAFORM_PROVIDER_ALEMBIC_SCRIPT_CACHE"
_FORMAT = 1


def load_graph(script: Any) -> bool:
    """Make ``script``'s revision map ready; return True when it came from the cache.

    On a miss the map is loaded the usual way (every revision module runs, and their errors
    propagate) and the cache is written for next time.
    """
    if os.environ.get(DISABLE_VARIABLE, "").lower() in ("0", "off", "false", "no"):
        script.get_heads()
        return False
    try:
        locations = _locations(script)
        before = _fingerprint(script, locations)
        path = _cache_path(locations)
    except OSError:
        script.get_heads()
        return False
    cached = _read(path, before)
    if cached is not None:
        from alembic.script.revision import RevisionMap

        entries = cached
        script.revision_map = RevisionMap(lambda: _scripts(entries))
        return True
    script.get_heads()
    try:
        if _fingerprint(script, locations) == before and not _racy(before):
            _write(path, before, _entries(script))
    except OSError as exc:
        sys.stderr.write(f"The script graph cache was not written: {exc}\n")
    return False


def _locations(script: Any) -> list[str]:
    """Return the directories Alembic loads revisions from, as real absolute paths.

    ``version_locations`` when the configuration sets it (a ``package:path`` entry names a
    package's directory), else ``versions`` beside env.py.
    """
    from alembic.util import coerce_resource_to_filename

    configured = script.version_locations or [os.path.join(script.dir, "versions")]
    return sorted(
        {os.path.realpath(str(coerce_resource_to_filename(str(path)))) for path in configured}
    )


def _fingerprint(script: Any, locations: list[str]) -> list[Any]:
    """Describe every file that can define a revision, so any change changes the result."""
    import alembic

    files: list[Any] = []
    for location in locations:
        files.append([location, *_walk(location, bool(script.sourceless))])
    return [
        _FORMAT,
        getattr(alembic, "__version__", "?"),
        list(sys.version_info[:3]),
        bool(script.sourceless),
        bool(getattr(script, "recursive_version_locations", False)),
        files,
    ]


def _racy(fingerprint: list[Any]) -> bool:
    """Tell whether a file was modified so recently that a same-size edit could go unseen.

    Modification times have a coarse granularity: an edit within the same tick as the one
    recorded, keeping the size, would leave them equal. A later edit always moves the time
    past an old one, so only graphs whose files have been quiet for a moment are cached.
    """
    newest = max(
        (entry[2] for location in fingerprint[-1] for entry in location[1:] if entry[1] != "dir"),
        default=0,
    )
    return time.time_ns() - newest < QUIET_NS


def _walk(directory: str, sourceless: bool) -> Iterator[list[Any]]:
    try:
        entries = sorted(os.scandir(directory), key=lambda entry: entry.name)
    except FileNotFoundError:
        return
    for entry in entries:
        info = entry.stat()
        if stat.S_ISDIR(info.st_mode):
            # Bytecode only matters when Alembic is told to load it.
            if entry.name != "__pycache__" or sourceless:
                yield [entry.name, "dir", info.st_mtime_ns]
                for item in _walk(entry.path, sourceless):
                    yield [f"{entry.name}/{item[0]}", *item[1:]]
            continue
        yield [entry.name, info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino]


def _cache_path(locations: list[str]) -> str:
    name = hashlib.sha256("\0".join(locations).encode("utf-8")).hexdigest()[:32]
    return os.path.join(cache_directory(), "script-graphs", name + ".json")


def _read(path: str, fingerprint: list[Any]) -> list[dict[str, Any]] | None:
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("fingerprint") != fingerprint:
        return None
    revisions = data.get("revisions")
    return revisions if isinstance(revisions, list) else None


def _write(path: str, fingerprint: list[Any], entries: list[dict[str, Any]]) -> None:
    directory = os.path.dirname(path)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".graph-", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump({"fingerprint": fingerprint, "revisions": entries}, out)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def _listed(value: Any) -> Any:
    return list(value) if isinstance(value, (tuple, list)) else value


def _entries(script: Any) -> list[dict[str, Any]]:
    """Describe each revision as its file declares it, in the order the files loaded."""
    return [
        {
            "revision": revision.revision,
            "down_revision": _listed(revision.down_revision),
            "depends_on": _listed(revision.dependencies),
            "branch_labels": _declared_labels(revision),
            "longdoc": revision.longdoc,
            "path": str(revision.path),
        }
        for revision in revisions_in_load_order(script)
    ]


def _declared_labels(revision: Any) -> list[str]:
    """The labels the revision file declares; the map adds those its descendants declare."""
    labels = getattr(revision.module, "branch_labels", None)
    if labels is None:
        return []
    return [labels] if isinstance(labels, str) else list(labels)


class _LazyModule:
    """Stands for a revision module until something needs it.

    Alembic takes ``module.upgrade`` (or ``downgrade``) when it plans a step, long before the
    step runs, and a plan never runs it: those two come back as functions that load the
    module when called. Anything else loads it at once.
    """

    def __init__(self, script: Any) -> None:
        self._script = script

    def __getattr__(self, name: str) -> Any:
        if name in ("upgrade", "downgrade"):
            script = self._script

            def migrate(*args: Any, **kwargs: Any) -> Any:
                return getattr(script.loaded(), name)(*args, **kwargs)

            migrate.__name__ = name  # Alembic names the step after its function
            return migrate
        return getattr(self._script.loaded(), name)


def _tupled(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _scripts(entries: list[dict[str, Any]]) -> Iterator[Any]:
    from alembic.script import Script
    from alembic.script.revision import Revision
    from alembic.util import load_python_file

    class CachedScript(Script):
        """A revision known from the cache; its module is loaded when first needed."""

        def __init__(self, entry: dict[str, Any]) -> None:
            self.path = entry["path"]
            self._longdoc = entry["longdoc"]
            self._module: Any = None
            Revision.__init__(
                self,
                entry["revision"],
                _tupled(entry["down_revision"]),
                dependencies=_tupled(entry["depends_on"]),
                branch_labels=tuple(entry["branch_labels"]),
            )

        @property
        def module(self) -> Any:  # type: ignore[override]  # loaded on first use
            return _LazyModule(self)

        def loaded(self) -> Any:
            if self._module is None:
                directory, filename = os.path.split(self.path)
                self._module = load_python_file(directory, filename)
            return self._module

        @property
        def longdoc(self) -> str:
            return str(self._longdoc)

    for entry in entries:
        yield CachedScript(entry)
