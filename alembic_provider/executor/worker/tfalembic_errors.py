"""The failure a worker reports, and the wording helpers every worker module shares.

Part of the worker (see ``__main__.py``): standard library only at import time, Python 3.8
syntax, never imports the provider package.
"""

from __future__ import annotations

import os
import re
import sys
import sysconfig
import traceback
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    Result = dict[str, Any]

__all__ = [
    "ReportedError",
    "database_failure_kind",
    "driver_failure",
    "error_text",
    "import_failure",
    "is_driver_failure",
    "quoted",
    "user_frame",
]

_BACKGROUND = re.compile(r"\s*\(Background on this error at: [^)]*\)")
_HERE = os.path.dirname(os.path.abspath(__file__))
_NOT_THE_USERS = ("site-packages", "dist-packages")


class ReportedError(Exception):
    """A failure reported to the provider as ``{kind, message, revision, heads_reached}``."""

    def __init__(
        self,
        kind: str,
        message: str,
        revision: str | None = None,
        heads: Sequence[str] | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.revision = revision
        self.heads = None if heads is None else sorted(heads)
        self.location: str | None = None

    def payload(self, trace: str) -> Result:
        return {
            "kind": self.kind,
            "message": self.message,
            "revision": self.revision,
            "heads_reached": self.heads,
            "location": self.location,
            "traceback": trace,
        }


def quoted(items: Sequence[str]) -> str:
    return ", ".join(f"'{item}'" for item in items)


def error_text(exc: BaseException) -> str:
    message = _BACKGROUND.sub("", str(exc)).strip()
    if len(message) > 4000:
        message = message[:4000] + " ..."
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


#: SQLSTATEs (PostgreSQL) and error numbers (MySQL, MariaDB) of a server that answered but
#: refused the login, or has no database of that name.
_LOGIN_STATES = frozenset({"28P01", "28000"})
_MISSING_STATES = frozenset({"3D000"})
_LOGIN_NUMBERS = frozenset({1044, 1045, 1698})
_MISSING_NUMBERS = frozenset({1049})
_LOGIN_TEXT = re.compile(r"password authentication failed|authentication failed for user")
#: SQLite cannot open a file whose directory does not exist (yet).
_MISSING_TEXT = re.compile(
    r'database "[^"]*" does not exist|Unknown database|unable to open database file'
)
#: A TLS handshake or certificate the client or the server would not accept. MySQL's 2026 is
#: "SSL connection error"; libpq and PyMySQL say SSL in their message.
_TLS_NUMBERS = frozenset({2026})
_TLS_TEXT = re.compile(
    r"\bSSL\b|\bTLS\b|CERTIFICATE_VERIFY_FAILED|certificate verify failed|sslmode", re.IGNORECASE
)
#: No server answered: refused, timed out, unknown host, or the connection dropped at once.
#: PostgreSQL's 57P03 is a server still starting up. MySQL's 2002-2006 and 2013 are the
#: client's "Can't connect", "Unknown MySQL server host" and "server has gone away".
_HOST_STATES = frozenset({"57P03", "08001", "08006"})
_HOST_NUMBERS = frozenset({2002, 2003, 2005, 2006, 2013})
_HOST_TEXT = re.compile(
    r"could not connect to server|connection to server (?:at|on) .* failed|Connection refused|"
    r"server closed the connection unexpectedly|"
    r"could not translate host name|Name or service not known|timeout expired|"
    r"Is the server running|No route to host|Network is unreachable|"
    r"the database system is starting up|Can't connect to|Unknown MySQL server host",
    re.IGNORECASE,
)
#: Modules of the database drivers (DBAPIs) SQLAlchemy loads for a URL's scheme.
_DRIVERS = frozenset(
    {
        "psycopg2",
        "psycopg",
        "pg8000",
        "asyncpg",
        "pymysql",
        "MySQLdb",
        "mysql",
        "mariadb",
        "asyncmy",
        "aiomysql",
        "aiosqlite",
        "oracledb",
        "cx_Oracle",
        "pyodbc",
        "pymssql",
    }
)


def database_failure_kind(exc: BaseException) -> str:
    """Tell why a database could not be used: login refused, no such database, TLS, no answer.

    The driver's own code says it where it has one (a SQLSTATE, a MySQL error number); the
    message where it does not (libpq reports connection-time failures without a SQLSTATE). A
    TLS failure is told first: drivers report it as a failure to connect. ``"database"`` is
    any other error of a server that answered.
    """
    orig = getattr(exc, "orig", None) or exc
    state = getattr(orig, "pgcode", None) or getattr(orig, "sqlstate", None)
    args = getattr(orig, "args", ())
    number = args[0] if args and isinstance(args[0], int) else None
    text = str(orig)
    if state in _LOGIN_STATES or number in _LOGIN_NUMBERS or _LOGIN_TEXT.search(text):
        return "login_refused"
    if state in _MISSING_STATES or number in _MISSING_NUMBERS or _MISSING_TEXT.search(text):
        return "database_missing"
    if number in _TLS_NUMBERS or _TLS_TEXT.search(text):
        return "tls"
    if state in _HOST_STATES or number in _HOST_NUMBERS or _HOST_TEXT.search(text):
        return "host_unreachable"
    return "database"


def is_driver_failure(exc: BaseException) -> bool:
    """Tell whether an error says the URL's database driver is not installed.

    SQLAlchemy imports the driver when env.py creates the engine: an ``ImportError`` of a
    known driver module, or its own "Can't load plugin" for a scheme no installed package
    provides.
    """
    if isinstance(exc, ImportError):
        name = (getattr(exc, "name", None) or "").split(".")[0]
        return name in _DRIVERS
    return type(exc).__name__ == "NoSuchModuleError"


def driver_failure(exc: BaseException) -> ReportedError:
    """Word a missing database driver: which interpreter lacks it, and how to add it."""
    name = getattr(exc, "name", None)
    missing = f"the database driver '{name}'" if name else "a database driver for this URL"
    return ReportedError(
        "driver_missing",
        f"The interpreter '{sys.executable}' running env.py does not have {missing} "
        f"({error_text(exc)}).",
    )


def import_failure(exc: ImportError) -> ReportedError:
    if is_driver_failure(exc):
        return driver_failure(exc)
    name = getattr(exc, "name", None) or str(exc)
    return ReportedError(
        "environment",
        f"The interpreter '{sys.executable}' cannot import '{name}' ({exc}). Install it in "
        "that environment, or set 'python' to an interpreter that has it.",
    )


def _library_roots() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    roots = {paths.get(name) for name in ("stdlib", "platstdlib", "purelib", "platlib")}
    return tuple(os.path.abspath(root) + os.sep for root in roots if root)


def _is_users(filename: str, libraries: tuple[str, ...]) -> bool:
    """Tell whether a frame's file is the user's own code, not Python, a library or the worker."""
    if filename.startswith("<") or not os.path.isabs(filename):
        return False
    parts = filename.split(os.sep)
    if any(part in _NOT_THE_USERS for part in parts):
        return False
    return not filename.startswith((_HERE + os.sep, *libraries))


def _shown(filename: str) -> str:
    """Return a path relative to the working directory (the project's) when it lies below it."""
    path = os.path.relpath(filename)
    return filename if path.startswith(os.pardir) else path


def user_frame(exc: BaseException) -> str | None:
    """Return the innermost frame of the user's own code (env.py, a migration, their models).

    The original exception of a chain is searched first: a wrapped error's frames are the
    worker's. Formatted like a line of a Python traceback, with the path relative to the
    working directory (the project's) when it lies below it; ``None`` when no frame is theirs.
    """
    chain: list[BaseException] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append(current)
        current = current.__cause__ or current.__context__
    libraries = _library_roots()
    for error in reversed(chain):
        # A file that does not compile never ran: the error itself says where.
        if (
            isinstance(error, SyntaxError)
            and error.filename
            and error.lineno
            and _is_users(os.path.abspath(error.filename), libraries)
        ):
            text = (error.text or "").strip()
            where = f'  File "{_shown(error.filename)}", line {error.lineno}'
            return f"{where}\n    {text}" if text else where
        frames = [
            frame
            for frame in traceback.extract_tb(error.__traceback__)
            if _is_users(frame.filename, libraries)
        ]
        if frames:
            frame = frames[-1]
            where = f'  File "{_shown(frame.filename)}", line {frame.lineno}, in {frame.name}'
            return f"{where}\n    {frame.line}" if frame.line else where
    return None
