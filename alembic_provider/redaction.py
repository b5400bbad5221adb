"""Keep secrets out of everything the provider prints: diagnostics, logs and error text.

A :class:`Redactor` learns secrets as the provider sees them (values of ``environment`` and other
sensitive attributes, passwords inside database URLs) and replaces every occurrence, in the forms
a secret takes inside URLs, JSON and ``repr`` output too, with ``***``. Passwords in URLs and
``password=`` settings are also masked by pattern, so a URL the provider never saw (printed by
env.py, say) is hidden as well. Redaction is the second net: types holding secrets mask
themselves in ``repr``. Never logs, and never returns text that still holds a known secret.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable, Mapping
from urllib.parse import quote, quote_plus, unquote

__all__ = ["MASK", "MIN_SECRET_LENGTH", "Redactor", "mask_url", "url_password"]

MASK = "***"
#: Shorter values are not treated as secrets: masking every "1" or "on" would destroy the text.
MIN_SECRET_LENGTH = 3

# scheme://user:password@host: the password runs to the last '@' before the host and never
# spans a '/' or whitespace, so a path or the next word is not swallowed. A scheme starts only
# where a word starts and is short, and a password is at most 4 KiB, so the search stays linear
# in the text's length: long values (a 10 MB environment variable) are redacted in passing.
_URL_PASSWORD = re.compile(
    r"(?P<head>(?<![A-Za-z0-9+.\-])[A-Za-z][A-Za-z0-9+.\-]{0,63}://[^:/@\s]{0,4096}:)"
    r"(?P<password>[^\s/]{1,4096})(?=@)"
)
# MySQL and MariaDB end a refused login with "(using password: YES)" (or NO): whether a password
# was sent, in the server's fixed words, not a password. Only that exact phrase is left alone.
_SETTING_PASSWORD = re.compile(
    r"(?P<head>\bpass(?:word|wd)?\s*[=:]\s*)"
    r"(?!(?<=\(using password: )(?:YES|NO)\))"
    r"(?P<password>'[^']*'|\"[^\"]*\"|[^\s;&,'\"]+)",
    re.IGNORECASE,
)


def url_password(url: str) -> str | None:
    """Return the password inside a URL, or ``None`` when it has none."""
    match = _URL_PASSWORD.search(url)
    return match.group("password") if match else None


def mask_url(url: str) -> str:
    """Return ``url`` with its password, if any, replaced by ``***``."""
    return _URL_PASSWORD.sub(lambda m: m.group("head") + MASK, url)


def _forms(secret: str) -> set[str]:
    """Return the spellings a secret takes in URLs, JSON and Python reprs."""
    forms = {
        secret,
        unquote(secret),
        quote(secret, safe=""),
        quote_plus(secret, safe=""),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        repr(secret)[1:-1],
        secret.encode("unicode_escape").decode("ascii"),
    }
    return {form for form in forms if len(form) >= MIN_SECRET_LENGTH}


class Redactor:
    """A thread-safe set of secrets and the function that hides them."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._secrets: frozenset[str] = frozenset()
        for secret in secrets:
            self.add(secret)

    def __len__(self) -> int:
        """How many spellings of secrets this redactor hides (not counting the patterns)."""
        return len(self._secrets)

    def add(self, secret: str) -> None:
        """Remember ``secret`` in all its spellings; values shorter than three are ignored."""
        forms = _forms(secret)
        with self._lock:
            self._secrets = self._secrets | forms

    def add_url(self, url: str) -> None:
        """Remember the password of ``url``, if it has one."""
        password = url_password(url)
        if password:
            self.add(password)

    def add_value(self, value: object) -> None:
        """Remember every string inside ``value`` (a string, list or mapping of them)."""
        if isinstance(value, str):
            self.add(value)
            self.add_url(value)
        elif isinstance(value, Mapping):
            for item in value.values():
                self.add_value(item)
        elif isinstance(value, list | tuple | set | frozenset):
            for item in value:
                self.add_value(item)

    def extended(self, secrets: Iterable[str] = (), urls: Iterable[str] = ()) -> Redactor:
        """Return a new redactor that knows these secrets and URL passwords as well."""
        other = Redactor()
        other._secrets = self._secrets
        for secret in secrets:
            other.add(secret)
        for url in urls:
            other.add_url(url)
        return other

    def redact(self, text: str) -> str:
        """Return ``text`` with every known secret and every URL password replaced by ``***``."""
        secrets = self._secrets
        if secrets:
            text = _mask_spans(text, secrets)
        text = _SETTING_PASSWORD.sub(lambda m: m.group("head") + MASK, text)
        return mask_url(text)


def _mask_spans(text: str, secrets: frozenset[str]) -> str:
    """Replace each maximal run of characters covered by any secret occurrence with the mask.

    Covering every occurrence, overlapping ones included, before replacing anything means no
    secret survives next to a mask, which sequential replacement cannot promise.
    """
    covered: list[tuple[int, int]] = []
    for secret in secrets:
        start = text.find(secret)
        while start != -1:
            covered.append((start, start + len(secret)))
            start = text.find(secret, start + 1)
    if not covered:
        return text
    covered.sort()
    pieces: list[str] = []
    position = 0
    run_start, run_end = covered[0]
    for start, end in covered[1:]:
        if start <= run_end:
            run_end = max(run_end, end)
            continue
        pieces.append(text[position:run_start] + MASK)
        position = run_end
        run_start, run_end = start, end
    pieces.append(text[position:run_start] + MASK)
    pieces.append(text[run_end:])
    return "".join(pieces)
