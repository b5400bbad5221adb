"""Read ``terraform show -json`` output the way acceptance checks need it.

Turns the JSON state into a small typed view (resources by address, outputs by name), does the
same for a saved plan (the planned change of each resource), and compares imported resources
with the originals like terraform-plugin-testing's ``ImportStateVerify`` does, on a flattened
``key.sub`` view. Never runs Terraform itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Plan", "Resource", "ResourceChange", "State", "flatmap", "verify_import"]


@dataclass(frozen=True)
class Resource:
    """One resource instance from the state."""

    address: str
    mode: str
    type: str
    name: str
    provider_name: str
    values: Mapping[str, Any]
    schema_version: int = 0


@dataclass(frozen=True)
class State:
    """A parsed ``terraform show -json`` document."""

    raw: Mapping[str, Any]
    resources: Mapping[str, Resource] = field(default_factory=dict)
    outputs: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> State:
        """Build the view from the command's stdout."""
        raw = json.loads(text)
        values = raw.get("values") or {}
        resources = {res.address: res for res in _walk(values.get("root_module") or {})}
        outputs = {
            name: output.get("value") for name, output in (values.get("outputs") or {}).items()
        }
        return cls(raw=raw, resources=resources, outputs=outputs)

    @property
    def managed(self) -> list[Resource]:
        """Return the managed resources (not data sources)."""
        return [res for res in self.resources.values() if res.mode == "managed"]

    def resource(self, address: str) -> Resource:
        """Return the resource at ``address``, with a helpful error when it is absent."""
        try:
            return self.resources[address]
        except KeyError:
            known = ", ".join(sorted(self.resources)) or "none"
            raise AssertionError(
                f"Resource '{address}' is not in the state; resources present: {known}."
            ) from None

    def attr(self, address: str, key: str) -> Any:
        """Return one attribute of a resource, failing when the attribute is absent."""
        values = self.resource(address).values
        if key not in values:
            raise AssertionError(f"Resource '{address}' has no attribute '{key}'.")
        return values[key]


_NO_CHANGE = (("no-op",), ("read",))


@dataclass(frozen=True)
class ResourceChange:
    """The planned change of one resource instance: ``before`` and ``after`` values.

    ``after_unknown`` mirrors ``after`` with ``true`` where a value is known only after apply.
    """

    address: str
    mode: str
    actions: tuple[str, ...]
    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None
    after_unknown: Mapping[str, Any]

    @property
    def changed(self) -> bool:
        """Return whether applying the plan would do anything to this instance."""
        return self.actions not in _NO_CHANGE

    def unknown(self, key: str) -> bool:
        """Return whether the attribute ``key`` is planned as known only after apply."""
        return self.after_unknown.get(key) is True

    def changed_keys(self) -> set[str]:
        """Return the attributes whose planned value differs from the prior one."""
        before = self.before or {}
        after = self.after or {}
        return {
            key
            for key in before.keys() | after.keys() | self.after_unknown.keys()
            if self.unknown(key) or before.get(key) != after.get(key)
        }


@dataclass(frozen=True)
class Plan:
    """A parsed ``terraform show -json`` document of a saved plan.

    :param output: what the ``plan`` command printed (stdout, then stderr), for warnings.
    :param refresh: whether the plan was made with a refresh.
    """

    raw: Mapping[str, Any]
    changes: Mapping[str, ResourceChange] = field(default_factory=dict)
    output: str = ""
    refresh: bool = True

    @classmethod
    def parse(cls, text: str, *, output: str = "", refresh: bool = True) -> Plan:
        """Build the view from the output of ``terraform show -json PLANFILE``."""
        raw = json.loads(text)
        changes = {
            item["address"]: ResourceChange(
                address=item["address"],
                mode=item.get("mode", "managed"),
                actions=tuple(item["change"].get("actions") or ()),
                before=item["change"].get("before"),
                after=item["change"].get("after"),
                after_unknown=item["change"].get("after_unknown") or {},
            )
            for item in raw.get("resource_changes") or []
        }
        return cls(raw=raw, changes=changes, output=output, refresh=refresh)

    @property
    def changed(self) -> list[ResourceChange]:
        """Return the changes of managed resources that applying the plan would make."""
        return [c for c in self.changes.values() if c.mode == "managed" and c.changed]

    def change(self, address: str) -> ResourceChange:
        """Return the planned change of the resource at ``address``."""
        try:
            return self.changes[address]
        except KeyError:
            known = ", ".join(sorted(self.changes)) or "none"
            raise AssertionError(
                f"The plan has no change for '{address}'; resources planned: {known}."
            ) from None


def _walk(module: Mapping[str, Any]) -> Iterator[Resource]:
    for item in module.get("resources") or []:
        yield Resource(
            address=item["address"],
            mode=item.get("mode", "managed"),
            type=item["type"],
            name=item["name"],
            provider_name=item.get("provider_name", ""),
            values=item.get("values") or {},
            schema_version=int(item.get("schema_version", 0)),
        )
    for child in module.get("child_modules") or []:
        yield from _walk(child)


def flatmap(values: Mapping[str, Any]) -> dict[str, str]:
    """Flatten attribute values into ``key.sub`` strings, as Terraform's legacy state did.

    Nulls are left out, booleans become ``"true"``/``"false"``, lists get ``key.#`` and maps get
    ``key.%`` counts.
    """
    flat: dict[str, str] = {}
    for key, value in values.items():
        _flatten(flat, key, value)
    return flat


def _flatten(flat: dict[str, str], key: str, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, bool):
        flat[key] = "true" if value else "false"
    elif isinstance(value, int | float):
        flat[key] = json.dumps(value)
    elif isinstance(value, str):
        flat[key] = value
    elif isinstance(value, list):
        flat[f"{key}.#"] = str(len(value))
        for index, item in enumerate(value):
            _flatten(flat, f"{key}.{index}", item)
    elif isinstance(value, dict):
        flat[f"{key}.%"] = str(len(value))
        for sub, item in value.items():
            _flatten(flat, f"{key}.{sub}", item)
    else:
        flat[key] = str(value)


def _comparable(values: Mapping[str, Any], ignore: Iterable[str]) -> dict[str, str]:
    prefixes = tuple(ignore)
    return {
        key: value
        for key, value in flatmap(values).items()
        if not (key.endswith((".#", ".%")) and value == "0")
        and not (prefixes and key.startswith(prefixes))
        and key != "timeouts"
        and not key.startswith("timeouts.")
    }


def verify_import(
    original: State, imported: State, ignore: Iterable[str] = (), identifier: str = "id"
) -> None:
    """Check that every imported resource matches the resource it was imported from.

    The original is found by type, provider and the ``identifier`` attribute; attributes whose
    keys start with an ``ignore`` prefix are not compared.

    :raises AssertionError: when a resource is missing or an attribute differs.
    """
    ignore = tuple(ignore)
    for new in imported.managed:
        new_id = new.values.get(identifier)
        old = next(
            (
                res
                for res in original.managed
                if res.type == new.type
                and res.provider_name == new.provider_name
                and res.values.get(identifier) == new_id
            ),
            None,
        )
        if old is None:
            raise AssertionError(f"Failed state verification, resource with ID {new_id} not found")
        before = _comparable(old.values, ignore)
        after = _comparable(new.values, ignore)
        if before != after:
            lines = []
            for key in sorted(before.keys() | after.keys()):
                if before.get(key) == after.get(key):
                    continue
                if key in before:
                    lines.append(f"- {key} = {before[key]!r}")
                if key in after:
                    lines.append(f"+ {key} = {after[key]!r}")
            raise AssertionError(
                "ImportStateVerify attributes not equivalent. Difference is shown below. "
                "The - symbol indicates attributes missing after import.\n\n" + "\n".join(lines)
            )
