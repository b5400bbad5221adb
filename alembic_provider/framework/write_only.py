"""Write-only attributes (protocol 6.8): accepted in configuration, never stored.

Terraform 1.11 and newer keep a write-only value out of state, plan files and private state,
and expect it null in every object the provider returns. Older Terraform knows nothing of the
flag and would store the value like any other, so a configuration that sets one is refused
there before anything is stored. Never does I/O.
"""

from __future__ import annotations

from typing import Any, overload

from alembic_provider.diagnostics import Diagnostics
from alembic_provider.schema import Block

__all__ = ["check_allowed", "nulled"]

Values = dict[str, Any]


@overload
def nulled(block: Block, values: Values) -> Values: ...
@overload
def nulled(block: Block, values: None) -> None: ...
@overload
def nulled(block: Block, values: Values | None) -> Values | None: ...
def nulled(block: Block, values: Values | None) -> Values | None:
    """Return ``values`` with every write-only attribute null (a copy when one was set)."""
    names = block.write_only_names
    if values is None or not any(values.get(n) is not None for n in names):
        return values
    return {**values, **dict.fromkeys(names)}


def check_allowed(block: Block, config: Values, allowed: bool, diagnostics: Diagnostics) -> None:
    """Refuse each write-only value set where Terraform did not announce support for them."""
    if allowed:
        return
    for name in block.write_only_names:
        if config.get(name) is None:
            continue
        diagnostics.error(
            "Write-Only Argument Not Supported",
            f"'{name}' is a write-only argument: Terraform 1.11 or newer keeps its value out of "
            "state and plan files. This Terraform did not announce support for write-only "
            "arguments and would store the value in state, so the configuration is refused. "
            "Use Terraform 1.11 or newer, or pass the secret another way (see 'Secrets and "
            "state' in the provider's documentation).",
            (name,),
        )
