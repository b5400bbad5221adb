"""One operation per RPC: its redaction, its log, the guard and the result, declared once.

A provider method decorated with :func:`rpc` (or :func:`diagnostics_rpc`) is written as the body
of one operation: it takes the :class:`Operation` after ``self`` and returns its answer. The
decorator begins the operation, logs it, runs the body inside :func:`~.guard.guard`, and hands
back the answer with the operation's diagnostics; callers never see the ``Operation`` parameter.
Never imports the layers above it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Concatenate, ParamSpec, Protocol, TypeVar, overload

from alembic_provider.diagnostics import Diagnostics
from alembic_provider.framework.guard import guard
from alembic_provider.log import Logger
from alembic_provider.redaction import Redactor
from alembic_provider.schema import Block

__all__ = ["Dispatcher", "Operation", "diagnostics_rpc", "remember_secrets", "rpc"]

P = ParamSpec("P")
R = TypeVar("R")


class Operation:
    """One RPC's diagnostics and log, hiding the provider's secrets and the request's own.

    The request's secrets live in a redactor of the operation's own, dropped with it, so the
    memory they take is bounded by the requests in flight, not by every value ever seen.
    """

    def __init__(self, provider_redactor: Redactor, log: Logger) -> None:
        self.redactor = provider_redactor.extended()
        self.diagnostics = Diagnostics(self.redact)
        self.log = log.with_redactor(self.redact)

    def redact(self, text: str) -> str:
        return self.redactor.redact(text)

    def remember(self, block: Block, value: object) -> None:
        """Register every sensitive value of ``value`` before the operation uses it."""
        remember_secrets(self.redactor, block, value)


def remember_secrets(redactor: Redactor, block: Block, value: object) -> None:
    """Teach ``redactor`` the sensitive attributes of ``value`` and the passwords of its URLs."""
    if not isinstance(value, dict):
        return
    for name in block.sensitive_names:
        redactor.add_value(value.get(name))
    for attribute in block.attributes:
        item = value.get(attribute.name)
        if isinstance(item, str) and "://" in item:
            redactor.add_url(item)


class Dispatcher(Protocol):
    """What the decorators need from the object whose methods they wrap."""

    def begin(self) -> Operation:
        """Start the operation of one RPC."""
        ...


D = TypeVar("D", bound=Dispatcher)


def _perform(
    op: Operation, name: str, type_name: str, call: Callable[[], R]
) -> tuple[bool, R | None]:
    """Run ``call`` as the RPC ``name``; return whether it finished, and its answer."""
    log = op.log.child(tf_rpc=name, tf_resource_type=type_name) if type_name else op.log
    log.trace("rpc started", tf_rpc=name)
    with guard(op.diagnostics, log, name):
        answer = call()
        log.trace("rpc finished", tf_rpc=name)
        return True, answer
    return False, None


def _type_name(typed: bool, args: tuple[object, ...]) -> str:
    return str(args[0]) if typed and args else ""


@overload
def rpc(
    name: str, *, typed: bool = ...
) -> Callable[
    [Callable[Concatenate[D, Operation, P], R]],
    Callable[Concatenate[D, P], tuple[R | None, Diagnostics]],
]: ...


@overload
def rpc(
    name: str, *, typed: bool = ..., fallback: Callable[[], R]
) -> Callable[
    [Callable[Concatenate[D, Operation, P], R]],
    Callable[Concatenate[D, P], tuple[R, Diagnostics]],
]: ...


def rpc(
    name: str, *, typed: bool = True, fallback: Callable[[], R] | None = None
) -> Callable[
    [Callable[Concatenate[D, Operation, P], R]],
    Callable[Concatenate[D, P], tuple[R | None, Diagnostics]],
]:
    """Declare a method as the body of the RPC ``name``, answering ``(result, diagnostics)``.

    :param typed: the first argument is the resource or data source type name, logged with
        every line of the operation.
    :param fallback: makes the result when the body fails; without it a failure answers None.
    """

    def decorate(
        body: Callable[Concatenate[D, Operation, P], R],
    ) -> Callable[Concatenate[D, P], tuple[R | None, Diagnostics]]:
        @functools.wraps(body)
        def run(self: D, /, *args: P.args, **kwargs: P.kwargs) -> tuple[R | None, Diagnostics]:
            op = self.begin()
            finished, answer = _perform(
                op, name, _type_name(typed, args), lambda: body(self, op, *args, **kwargs)
            )
            if not finished and fallback is not None:
                answer = fallback()
            return answer, op.diagnostics

        return run

    return decorate


def diagnostics_rpc(
    name: str, *, typed: bool = True
) -> Callable[
    [Callable[Concatenate[D, Operation, P], None]], Callable[Concatenate[D, P], Diagnostics]
]:
    """Declare a method as the body of the RPC ``name``, answering only its diagnostics.

    :param typed: as for :func:`rpc`.
    """

    def decorate(
        body: Callable[Concatenate[D, Operation, P], None],
    ) -> Callable[Concatenate[D, P], Diagnostics]:
        @functools.wraps(body)
        def run(self: D, /, *args: P.args, **kwargs: P.kwargs) -> Diagnostics:
            op = self.begin()
            _perform(op, name, _type_name(typed, args), lambda: body(self, op, *args, **kwargs))
            return op.diagnostics

        return run

    return decorate
