"""What identifies one proxy: its command, how it signals readiness, and its environment.

Resources whose :class:`ProxySpec` compare equal share one running process. A spec is built
from a resource's ``proxy_*`` attributes by :func:`spec_from_config`, which checks every value
and names the attribute at fault. Environment values are secrets: they never appear in a
``repr``. Never starts a process.
"""

from __future__ import annotations

import math
import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from alembic_provider.durations import parse_duration
from alembic_provider.errors import ConfigError
from alembic_provider.proxy.readiness import ReadyTarget, parse_ready
from alembic_provider.redaction import MASK

__all__ = [
    "DEFAULT_SLEEP",
    "DEFAULT_TIMEOUT",
    "ProxySpec",
    "check_executable",
    "command_validator",
    "spec_from_config",
]

DEFAULT_SLEEP = 5.0
"""Seconds waited after starting a proxy that has no ``proxy_ready``, as the Go provider did."""
DEFAULT_TIMEOUT = 30.0
"""Seconds a proxy with ``proxy_ready`` has to start accepting connections."""
_COMMAND_MESSAGE = (
    "The proxy command must be a non-empty list of strings whose first element names an "
    'executable, for example ["cloud-sql-proxy", "project:region:db"].'
)


def _seconds(value: float, name: str, *, positive: bool) -> float:
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        wanted = "a positive" if positive else "a non-negative"
        raise ConfigError(
            f"The value '{value:g}' of '{name}' is not {wanted} number of seconds.",
            attribute=(name,),
        )
    return float(value)


@dataclass(frozen=True)
class ProxySpec:
    """One proxy configuration; equal specs share one process.

    :param command: the argument list to run; the first element is looked up on ``PATH``.
    :param sleep: seconds to wait after starting when ``ready`` is not set.
    :param ready: ``host:port`` or a unix socket path that accepts connections once the proxy
        is ready; when set, ``sleep`` is not used.
    :param timeout: seconds ``ready`` has to accept a connection before the proxy has failed.
    :param environment: variables added to the provider's environment for the proxy (secret).
    """

    command: tuple[str, ...]
    sleep: float = DEFAULT_SLEEP
    ready: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    environment: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        command = tuple(self.command)
        if command_validator(command) is not None:
            raise ConfigError(_COMMAND_MESSAGE, attribute=("proxy_command",))
        object.__setattr__(self, "command", command)
        object.__setattr__(self, "sleep", _seconds(self.sleep, "proxy_sleep", positive=False))
        object.__setattr__(self, "timeout", _seconds(self.timeout, "proxy_timeout", positive=True))
        if self.ready is not None:
            parse_ready(self.ready)
        object.__setattr__(self, "environment", MappingProxyType(dict(self.environment)))

    def __hash__(self) -> int:
        return hash(
            (
                self.command,
                self.sleep,
                self.ready,
                self.timeout,
                frozenset(self.environment.items()),
            )
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ProxySpec):
            return NotImplemented
        return (self.command, self.sleep, self.ready, self.timeout, dict(self.environment)) == (
            other.command,
            other.sleep,
            other.ready,
            other.timeout,
            dict(other.environment),
        )

    def __repr__(self) -> str:
        environment = {key: MASK for key in sorted(self.environment)}
        return (
            f"ProxySpec(command={self.command!r}, sleep={self.sleep!r}, ready={self.ready!r}, "
            f"timeout={self.timeout!r}, environment={environment!r})"
        )

    @property
    def ready_target(self) -> ReadyTarget | None:
        """The parsed ``ready`` address, or ``None`` when readiness is a fixed sleep."""
        return None if self.ready is None else parse_ready(self.ready)

    def secrets(self) -> tuple[str, ...]:
        """The values redaction must hide in anything this proxy prints."""
        return tuple(self.environment.values())


def command_validator(value: object) -> str | None:
    """Schema validator for ``proxy_command``: a non-empty list whose first element is set."""
    if isinstance(value, list | tuple) and value and all(isinstance(a, str) for a in value):
        return None if value[0] else _COMMAND_MESSAGE
    return _COMMAND_MESSAGE


def check_executable(command: Sequence[object], path: str | None = None) -> None:
    """Check that the proxy's executable exists, so a typo shows when it is planned.

    The proxy is started with the provider's environment, so a bare name is looked up on its
    ``PATH`` (``path`` overrides it, for tests); a name with a slash must be an executable file.

    :raises ConfigError: naming ``proxy_command`` when the executable cannot be run.
    """
    name = command[0] if command else None
    if not isinstance(name, str) or not name:
        return
    if os.sep in name:
        if os.path.isfile(name) and os.access(name, os.X_OK):
            return
        message = (
            f"The proxy command's executable '{name}' does not exist or is not an executable "
            "file. Correct the path in the first element of proxy_command."
        )
    else:
        search = os.environ.get("PATH", os.defpath) if path is None else path
        if shutil.which(name, path=search) is not None:
            return
        message = (
            f"The proxy command's executable '{name}' is not on PATH ({search}), so the proxy "
            "could not start. Install it, or give its full path as the first element of "
            "proxy_command."
        )
    raise ConfigError(message, attribute=("proxy_command",), summary="Proxy Command Not Found")


def spec_from_config(
    values: Mapping[str, object], environment: Mapping[str, str] | None = None
) -> ProxySpec | None:
    """Build the spec a resource's ``proxy_*`` attributes describe; ``None`` without a command.

    Null attributes take their defaults: ``proxy_sleep`` 5 s, ``proxy_timeout`` 30 s.

    :param values: the resource's decoded attributes (only ``proxy_*`` keys are read).
    :param environment: variables the proxy gets besides the provider's own environment.
    :raises ConfigError: when a value is malformed, naming the attribute.
    """
    command = values.get("proxy_command")
    if command is None:
        return None
    if not isinstance(command, list | tuple):
        raise ConfigError(_COMMAND_MESSAGE, attribute=("proxy_command",))
    return ProxySpec(
        command=tuple(command),
        sleep=_duration(values, "proxy_sleep", DEFAULT_SLEEP),
        ready=_text(values, "proxy_ready"),
        timeout=_duration(values, "proxy_timeout", DEFAULT_TIMEOUT),
        environment=dict(environment or {}),
    )


def _text(values: Mapping[str, object], name: str) -> str | None:
    value = values.get(name)
    if value is None or isinstance(value, str):
        return value
    raise ConfigError(f"The value of '{name}' must be a string.", attribute=(name,))


def _duration(values: Mapping[str, object], name: str, default: float) -> float:
    text = _text(values, name)
    if text is None:
        return default
    try:
        return parse_duration(text)
    except ConfigError as err:
        raise ConfigError(err.message, attribute=(name,)) from err
