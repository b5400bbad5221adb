"""Diagnostics: the warnings and errors a provider hands back to Terraform.

A diagnostic has a short Title-Case summary, a full-sentence detail and, when configuration is at
fault, the attribute path Terraform uses to point at the source line. This module is plain data;
the plugin layer converts it to protobuf. Text is redacted by whoever creates the diagnostic's
collection, never left to callers.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace

__all__ = ["AttributePath", "Diagnostic", "Diagnostics", "Severity"]

#: A path into a value: ``str`` steps name attributes, ``("key",)`` / ``(0,)`` tuples are
#: element keys of maps and lists.
AttributePath = tuple[str | tuple[str] | tuple[int], ...]


class Severity(enum.Enum):
    ERROR = 1
    WARNING = 2


@dataclass(frozen=True)
class Diagnostic:
    severity: Severity
    summary: str
    detail: str = ""
    attribute: AttributePath = ()

    @classmethod
    def error(cls, summary: str, detail: str = "", attribute: AttributePath = ()) -> Diagnostic:
        return cls(Severity.ERROR, summary, detail, attribute)

    @classmethod
    def warning(cls, summary: str, detail: str = "", attribute: AttributePath = ()) -> Diagnostic:
        return cls(Severity.WARNING, summary, detail, attribute)


def _identity(text: str) -> str:
    return text


class Diagnostics:
    """An ordered collection that redacts every diagnostic added to it."""

    def __init__(self, redact: Callable[[str], str] = _identity) -> None:
        self._items: list[Diagnostic] = []
        self._redact = redact

    def add(self, diagnostic: Diagnostic) -> None:
        self._items.append(
            replace(
                diagnostic,
                summary=self._redact(diagnostic.summary),
                detail=self._redact(diagnostic.detail),
            )
        )

    def extend(self, diagnostics: Iterable[Diagnostic]) -> None:
        for diagnostic in diagnostics:
            self.add(diagnostic)

    def error(self, summary: str, detail: str = "", attribute: AttributePath = ()) -> None:
        self.add(Diagnostic.error(summary, detail, attribute))

    def warning(self, summary: str, detail: str = "", attribute: AttributePath = ()) -> None:
        self.add(Diagnostic.warning(summary, detail, attribute))

    @property
    def has_errors(self) -> bool:
        return any(d.severity is Severity.ERROR for d in self._items)

    def __iter__(self) -> Iterator[Diagnostic]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)
