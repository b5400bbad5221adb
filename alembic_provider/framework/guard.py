"""The one place where an exception becomes a diagnostic: the server never dies of a request.

A :class:`~alembic_provider.errors.ProviderError` becomes the diagnostic it describes; anything
else is the provider's bug and says so, with the traceback in the detail. Both the gRPC servicer
(decoding and encoding) and the provider's dispatch (the hooks) run their work inside
:func:`guard`. Never imports the layers above it.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterator
from contextlib import contextmanager

from alembic_provider import errors
from alembic_provider.diagnostics import Diagnostic, Diagnostics
from alembic_provider.log import Logger

__all__ = ["BUG", "guard", "unexpected"]

BUG = "This is a bug in the provider; please report it."


def unexpected(rpc: str, exc: BaseException) -> Diagnostic:
    """Describe an exception nobody raised on purpose; call it while the exception is handled."""
    return Diagnostic.error(
        "Unexpected Provider Error",
        f"{rpc} failed unexpectedly: {exc}\n\n{BUG}\n\n{traceback.format_exc()}",
    )


@contextmanager
def guard(diagnostics: Diagnostics, log: Logger, rpc: str) -> Iterator[None]:
    """Run the block; turn any exception it raises into a diagnostic added to ``diagnostics``.

    Code after the ``with`` statement runs in both cases: ask ``diagnostics.has_errors`` when
    what comes next depends on whether the block finished.
    """
    try:
        yield
    except errors.ProviderError as exc:
        log.debug("rpc failed", tf_rpc=rpc, error=exc.message)
        diagnostics.add(exc.diagnostic())
    except Exception as exc:  # the one place every other failure becomes a diagnostic
        log.error("rpc crashed", tf_rpc=rpc, error=repr(exc))
        diagnostics.add(unexpected(rpc, exc))
