"""When a file the worker read may be taken as unchanged: its identity, and how long it must
have been quiet.

A file's modification and change times, size and inode tell it from an edited copy, but times
are coarse on some file systems: an edit within the same tick that keeps the size would leave
them equal. So a file is taken as known only once it has been quiet for ``QUIET_NS``; the
script graph cache, kept imports, reviews and staying workers all judge files this way.
Standard library only; never imports the provider package.
"""

from __future__ import annotations

import os

__all__ = ["QUIET_NS", "identity", "recent"]

#: A file modified this recently may still change unseen.
QUIET_NS = 2_000_000_000


def identity(path: str) -> tuple[int, int, int, int] | None:
    """The file's modification and change times (ns), size and inode; None if it is unreadable."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_mtime_ns, info.st_ctime_ns, info.st_size, info.st_ino)


def recent(seen: tuple[int, ...], since_ns: int) -> bool:
    """Whether the file ``seen`` describes changed within ``QUIET_NS`` before ``since_ns``, or
    after it: an edit may then hide behind the same identity."""
    return max(seen[:2]) > since_ns - QUIET_NS
