"""The write-only connection arguments: checking them, and the settings they stand for.

``url_wo`` and ``environment_wo`` reach the provider only with the configuration (validate, plan,
apply), never in state: an operation that has the configuration acts with them in place of
``url`` and ``environment``; one that has only the state (refresh, destroy) cannot know them,
which the state tells by their versions. Never imports alembic.
"""

from __future__ import annotations

from alembic_provider.diagnostics import Diagnostics
from alembic_provider.resources.base import Values

__all__ = ["PAIRS", "check", "connection", "in_state"]

#: Each write-only argument: the stored argument it replaces and its version.
PAIRS = {
    "url_wo": ("url", "url_wo_version"),
    "environment_wo": ("environment", "environment_wo_version"),
}


def connection(values: Values, config: Values | None) -> Values:
    """``values`` with each write-only argument of ``config`` in place of its stored one."""
    merged = dict(values)
    for name, (stored, _version) in PAIRS.items():
        value = (config or {}).get(name)
        if value is not None:
            merged[stored] = value
    return merged


def in_state(values: Values) -> bool:
    """Whether the resource connects with a write-only argument the state cannot hold."""
    return any(values.get(version) is not None for _stored, version in PAIRS.values())


def check(config: Values, diagnostics: Diagnostics) -> None:
    """Report write-only arguments set with their stored counterpart, without their version,
    or with ``on_destroy`` (a destroy gets no configuration to connect with)."""
    for name, (stored, version) in PAIRS.items():
        value = config.get(name)
        if value is not None and config.get(stored) is not None:
            diagnostics.error(
                "Conflicting Arguments",
                f"'{name}' and '{stored}' both set the database connection; set only one. "
                f"'{name}' keeps the value out of state, '{stored}' stores it.",
                (name,),
            )
        if (value is None) != (config.get(version) is None):
            missing, present = (version, name) if value is not None else (name, version)
            diagnostics.error(
                "Missing Argument",
                f"'{present}' needs '{missing}'. Terraform stores no trace of a write-only "
                f"value, so '{version}' is what records that '{name}' is set and when it "
                "changed: set it to a number and change the number when the value names "
                "another database.",
                (missing,),
            )
        if value is not None and config.get("on_destroy") is not None:
            diagnostics.error(
                "Conflicting Arguments",
                f"'on_destroy' cannot be used with '{name}': Terraform sends a destroy no "
                f"configuration, so the write-only '{name}' is not there to connect with. Set "
                "the provider's 'url' (it can come from an ephemeral variable) to downgrade on "
                "destroy.",
                ("on_destroy",),
            )
