"""Hunt a secret through everything a Terraform run leaves behind.

A :class:`Hunt` is handed every command a case runs (``on_command``) and, after each, reads
every file under the case's directory tree and the run's temporary directory: state files and
their backups, saved plans (zip archives, read member by member), Terraform's trace log, the
provider's logs, crash logs and anything else written there. It also keeps each command's
output, which includes ``terraform show -json`` of the state and of every saved plan. Where the
secret turns up is recorded by where it was found, and sorted by kind.
Harness code only, never shipped.
"""

from __future__ import annotations

import io
import shutil
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from acceptance.harness import CommandResult

__all__ = ["Hunt", "short_temp_dir"]

#: Files larger than this are binaries (providers, caches), not something a run wrote.
_MAX_BYTES = 64 * 1024 * 1024


@dataclass
class Hunt:
    """Look for ``secrets`` after every command; ``extra_dirs`` are searched too (TMPDIR)."""

    secrets: tuple[str, ...]
    extra_dirs: tuple[Path, ...] = ()
    #: Where a secret was found: "file path" or "terraform plan #3 stdout".
    found: set[str] = field(default_factory=set)
    #: Every file and output searched, to show the hunt looked where it should.
    searched: set[str] = field(default_factory=set)
    commands: int = 0

    def __call__(self, result: CommandResult) -> None:
        self.commands += 1
        command = result.argv[1]
        if command == "show":
            command = "show-plan" if "tfplan" in result.argv[-1] else "show-state"
        label = f"terraform {command} #{self.commands}"
        for stream, text in (("stdout", result.stdout), ("stderr", result.stderr)):
            self._search(f"{label} {stream}", text.encode())
        # The case's directory: work/, home/, the logs beside them.
        for root in (Path(result.cwd).parent, *self.extra_dirs):
            self.search_tree(root)

    def search_tree(self, root: Path) -> None:
        """Search every file under ``root`` (after the case, for what outlives it)."""
        for path in _files(root):
            self._search_file(path)

    def _search_file(self, path: Path) -> None:
        try:
            data = path.read_bytes()
        except OSError:
            return
        self._search(str(path), data)
        if zipfile.is_zipfile(io.BytesIO(data)):
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                for member in archive.namelist():
                    self._search(f"{path}!{member}", archive.read(member))

    def _search(self, where: str, data: bytes) -> None:
        self.searched.add(where)
        if any(secret.encode() in data for secret in self.secrets):
            self.found.add(where)

    @property
    def kinds(self) -> set[str]:
        """What kind of place each finding is: ``state``, ``plan``, ``output`` (what a command
        printed), ``log`` or ``other`` (temporary files and the rest)."""
        return {_kind(where) for where in self.found}

    def searched_like(self, *suffixes: str) -> list[str]:
        """The places searched whose names end with one of ``suffixes``."""
        return sorted(w for w in self.searched if w.endswith(suffixes))


@contextmanager
def short_temp_dir() -> Iterator[Path]:
    """A fresh directory to be the run's ``TMPDIR``, removed afterwards.

    It lives in the system's temporary directory, not in pytest's deep ``tmp_path``: the
    provider puts its plugin socket there, and a unix socket's path must stay short.
    """
    path = Path(tempfile.mkdtemp(prefix="hunt-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _kind(where: str) -> str:
    path = where.split("!", maxsplit=1)[0]
    if path.endswith(("tfplan", "tfplan-check")) or "terraform show-plan" in where:
        return "plan"
    if "tfstate" in path or "terraform show-state" in where:
        return "state"
    if where.startswith("terraform "):
        return "output"
    if where.endswith(".log"):
        return "log"
    return "other"


def _files(root: Path) -> Iterator[Path]:
    if not root.is_dir():
        return
    for path in _walk(root):
        try:
            if path.is_file() and not path.is_symlink() and path.stat().st_size <= _MAX_BYTES:
                yield path
        except OSError:
            continue


def _walk(root: Path) -> Iterable[Path]:
    try:
        return list(root.rglob("*"))
    except OSError:
        return []
