"""Structured logging for the provider process: hclog-style JSON lines on stderr.

Terraform reads a provider's stderr line by line and re-logs JSON lines at their own level under
``provider.<executable>``; ``@timestamp`` must carry exactly six fractional digits or the line is
shown raw. Levels follow ``TF_LOG_PROVIDER``, then ``TF_LOG``; with neither set the provider stays
silent. Every message and field passes through the redactor first. Never writes to stdout.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TextIO

__all__ = ["LEVELS", "Logger", "level_from_environment"]

LEVELS = ("trace", "debug", "info", "warn", "error")
_RANK = {name: rank for rank, name in enumerate(LEVELS)}
_ALIASES = {"json": "trace", "warning": "warn"}


def level_from_environment(environ: Mapping[str, str] | None = None) -> str | None:
    """Return the active level name, or None when logging is off.

    ``TF_LOG_PROVIDER`` wins over ``TF_LOG``; ``off`` or an empty value disables logging, an
    unrecognised non-empty value means ``trace`` as it does for Terraform itself.
    """
    env = os.environ if environ is None else environ
    raw = env.get("TF_LOG_PROVIDER") or env.get("TF_LOG") or ""
    name = raw.strip().lower()
    if not name or name == "off":
        return None
    name = _ALIASES.get(name, name)
    return name if name in _RANK else "trace"


def _identity(text: str) -> str:
    return text


class Logger:
    """Write hclog JSON lines for one module; cheap to copy with :meth:`child`."""

    def __init__(
        self,
        module: str = "provider",
        *,
        level: str | None = None,
        stream: TextIO | None = None,
        redact: Callable[[str], str] = _identity,
        fields: Mapping[str, Any] | None = None,
    ) -> None:
        self.module = module
        self.level = level
        self._stream = stream
        self._redact = redact
        self._fields = dict(fields or {})
        self._lock = threading.Lock()

    def child(self, module: str | None = None, **fields: Any) -> Logger:
        """Return a logger that adds ``fields`` to every line (and may rename the module)."""
        child = Logger(
            module or self.module,
            level=self.level,
            stream=self._stream,
            redact=self._redact,
            fields={**self._fields, **fields},
        )
        child._lock = self._lock
        return child

    def with_redactor(self, redact: Callable[[str], str]) -> Logger:
        """Return a logger whose lines also pass through ``redact``."""
        outer = self._redact

        def both(text: str) -> str:
            return redact(outer(text))

        clone = self.child()
        clone._redact = both
        return clone

    def enabled(self, level: str) -> bool:
        return self.level is not None and _RANK[level] >= _RANK[self.level]

    def trace(self, message: str, **fields: Any) -> None:
        self._emit("trace", message, fields)

    def debug(self, message: str, **fields: Any) -> None:
        self._emit("debug", message, fields)

    def info(self, message: str, **fields: Any) -> None:
        self._emit("info", message, fields)

    def warn(self, message: str, **fields: Any) -> None:
        self._emit("warn", message, fields)

    def error(self, message: str, **fields: Any) -> None:
        self._emit("error", message, fields)

    def _emit(self, level: str, message: str, fields: Mapping[str, Any]) -> None:
        if not self.enabled(level):
            return
        record: dict[str, Any] = {
            "@level": level,
            "@message": self._redact(message),
            "@module": self.module,
            "@timestamp": datetime.now(UTC).isoformat(timespec="microseconds"),
        }
        for key, value in {**self._fields, **fields}.items():
            text = value if isinstance(value, (int, float, bool)) else self._redact(str(value))
            record[key] = text
        line = json.dumps(record, separators=(",", ":"), default=str)
        stream = self._stream if self._stream is not None else sys.stderr
        with self._lock:
            stream.write(line + "\n")
            stream.flush()
