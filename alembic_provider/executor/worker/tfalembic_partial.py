"""Say what a failed or interrupted revision left committed on a server that commits DDL.

MySQL and MariaDB end the open transaction at every DDL statement, so the statements of the
failing revision up to its last DDL statement stay, and nothing after it does. The runner keeps
every statement the revision completed; this module only words what they mean. Never imports
the provider package.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["IMPLICIT_COMMIT", "committed_text"]

#: Dialects whose servers commit DDL implicitly.
IMPLICIT_COMMIT = frozenset({"mysql", "mariadb"})
#: Statements that commit implicitly (a temporary table does not).
_DDL = re.compile(
    r"^\s*(?:CREATE(?!\s+TEMPORARY)|ALTER|DROP(?!\s+TEMPORARY)|RENAME|TRUNCATE)\b", re.I
)
_SHOWN = 100


def committed_text(server: str, revision: str, ran: Sequence[str], stopped_by: str) -> str:
    """Word which statements of ``revision`` that ran before ``stopped_by`` stay committed.

    :param server: the server's name as users know it (``MariaDB``, ``MySQL``).
    :param ran: the statements the revision completed, in order.
    :param stopped_by: what stopped it: ``"the error"``, ``"the cancel"``.
    """
    last_ddl = max((i for i, sql in enumerate(ran) if _DDL.match(sql)), default=-1)
    if not ran:
        return (
            f"{server} commits DDL implicitly, but no statement of revision '{revision}' ran "
            f"before {stopped_by}, so nothing of it was committed."
        )
    count = _count(len(ran))
    if last_ddl < 0:
        return (
            f"{count} of revision '{revision}' ran before {stopped_by}; "
            + ("it is not DDL, so " if len(ran) == 1 else "none of them is DDL, so ")
            + f"{server} committed nothing of it implicitly."
        )
    kept = ran[: last_ddl + 1]
    listed = "; ".join(f"'{_short(sql)}'" for sql in kept)
    rest = len(ran) - len(kept)
    after = ""
    if rest:
        verb = "was" if rest == 1 else "were"
        after = f" The {_count(rest).lower()} after the last DDL statement {verb} not committed."
    return (
        f"{count} of revision '{revision}' ran before {stopped_by}; {server} commits DDL "
        f"implicitly, so {'this one stays' if len(kept) == 1 else f'these {len(kept)} stay'} "
        f"committed: {listed}.{after} Check the database before applying again."
    )


def _count(number: int) -> str:
    return "One statement" if number == 1 else f"{number} statements"


def _short(sql: str) -> str:
    text = " ".join(sql.split())
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3].rstrip() + "..."
