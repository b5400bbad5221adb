"""Acceptance test of every review code, on each dialect, through one plan of the real provider.

Per dialect one project: ``r0`` creates three tables, fills them and is applied by hand (as an
operator would); from it a branch ``codes`` holds one revision per code, written as a user of
that dialect would write it (batch mode on SQLite), and a harmless revision creating a table;
a branch ``gate`` holds two revisions whose destructive findings a comment in the file waives
(one on the operation's line, one for the whole file) and one whose finding the provider's
``review { block = ["destructive"] }`` blocks. ``alembic_upgrade.codes`` (its own ``review``
block lists nothing to block) plans the first branch, ``alembic_upgrade.gate`` the second, in
ONE ``terraform plan`` that fails on the blocked finding. The plain text output is read: each
revision's warning lists exactly the codes that apply on the dialect, with the revision id,
table and column names and the populated table's size; codes that do not apply (PostgreSQL's
locking codes off PostgreSQL, ``table-copy`` off MySQL and MariaDB, ``drop-schema`` on SQLite)
appear nowhere. Never edits the provider.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from acceptance.databases import Database
from acceptance.harness import CommandResult, Harness, Step
from acceptance.test_upgrade_semantics import PROVIDER, hcl, provider_block, run_alembic
from alembic_provider.review import CODES
from tests.alembic_projects import Revision, make_project

pytestmark = [pytest.mark.acceptance, pytest.mark.newest_terraform]

ROWS = 2000
DIALECTS = ("postgresql", "mariadb", "sqlite")

#: ``r0``: the tables every finding is about, filled so that the statistics show their size.
BASE = f"""\
import sqlalchemy as sa
accounts = op.create_table(
    "accounts",
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(100)),
    sa.Column("legacy", sa.String(200)),
    sa.Column("email", sa.String(200)),
)
orders = op.create_table(
    "orders",
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("account_id", sa.Integer),
    sa.Column("total", sa.Integer),
)
sessions = op.create_table(
    "sessions",
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("token", sa.String(64)),
)
op.create_index("ix_accounts_name", "accounts", ["name"])
n = range(1, {ROWS} + 1)
op.bulk_insert(
    accounts, [dict(id=i, name=f"n{{i}}", legacy="x" * 150, email=f"{{i}}@x") for i in n]
)
op.bulk_insert(orders, [dict(id=i, account_id=i, total=i) for i in n])
op.bulk_insert(sessions, [dict(id=i, token="t" * 60) for i in n])
dialect = op.get_context().dialect.name
if dialect == "postgresql":
    op.execute("ANALYZE accounts")
    op.execute("ANALYZE orders")
    op.execute("ANALYZE sessions")
elif dialect in ("mysql", "mariadb"):
    op.execute("ANALYZE TABLE accounts, orders, sessions")
"""


@dataclass(frozen=True)
class Case:
    """One revision of the ``codes`` branch.

    :param code: its ``upgrade()`` body; ``sqlite``, the body a SQLite user writes instead
        (None: the same; empty: no such revision on SQLite).
    :param expect: the codes its warning lists, per dialect (a dialect left out: no warning).
    :param table: the table whose size its findings show (None: no table).
    :param says: words its warning must contain on every dialect that warns.
    """

    rev: str
    code: str
    expect: dict[str, set[str]]
    table: str | None = None
    says: tuple[str, ...] = ()
    sqlite: str | None = None


def _all(*codes: str) -> dict[str, set[str]]:
    return {d: set(codes) for d in DIALECTS}


def _batch(table: str, line: str) -> str:
    return f'with op.batch_alter_table("{table}") as batch:\n    batch.{line}'


CASES = [
    Case(
        "drop_table",
        'op.drop_table("sessions")',
        _all("drop-table"),
        "sessions",
        ("drops table 'sessions'",),
    ),
    Case(
        "drop_column",
        'op.drop_column("accounts", "legacy")',
        _all("drop-column"),
        "accounts",
        ("drops column 'legacy' of table 'accounts'",),
        sqlite=_batch("accounts", 'drop_column("legacy")'),
    ),
    Case(
        "drop_schema",
        'op.execute("DROP SCHEMA IF EXISTS archive")',
        {"postgresql": {"drop-schema"}, "mariadb": {"drop-schema"}},
        None,
        ("drops schema 'archive'",),
        sqlite="",
    ),
    Case(
        "truncate",
        'op.execute("TRUNCATE TABLE orders")',
        _all("truncate"),
        "orders",
        ("empties table 'orders'",),
        sqlite='op.execute("DELETE FROM orders")',
    ),
    Case(
        "rename_table",
        'op.rename_table("orders", "purchases")',
        _all("rename-table"),
        "orders",
        ("renames table 'orders' to 'purchases'",),
    ),
    Case(
        "rename_column",
        'op.alter_column("accounts", "email", new_column_name="contact", '
        "existing_type=sa.String(200))",
        _all("rename-column"),
        "accounts",
        ("renames column 'email' of table 'accounts' to 'contact'",),
        sqlite=_batch("accounts", 'alter_column("email", new_column_name="contact")'),
    ),
    Case(
        "add_required_column",
        'op.add_column("accounts", sa.Column("region", sa.String(20), nullable=False))',
        _all("add-required-column"),
        "accounts",
        ("adds NOT NULL column 'region' without a server default to table 'accounts'",),
        sqlite=_batch("accounts", 'add_column(sa.Column("region", sa.String(20), nullable=False))'),
    ),
    Case(
        "narrow_type",
        'op.alter_column("accounts", "legacy", type_=sa.String(50), existing_type=sa.String(200))',
        # PostgreSQL rewrites the table to narrow a varchar; MySQL and MariaDB copy it.
        {
            "postgresql": {"narrow-type", "type-rewrite"},
            "mariadb": {"narrow-type", "table-copy"},
            "sqlite": {"narrow-type"},
        },
        "accounts",
        ("narrows the type of column 'legacy' of table 'accounts'",),
        sqlite=_batch(
            "accounts",
            'alter_column("legacy", type_=sa.String(50), existing_type=sa.String(200))',
        ),
    ),
    Case(
        "index_without_concurrently",
        'op.create_index("ix_accounts_email", "accounts", ["email"])',
        {"postgresql": {"index-without-concurrently"}},
        "accounts",
        ("creates index 'ix_accounts_email' on table 'accounts' without CONCURRENTLY",),
    ),
    Case(
        "drop_index_without_concurrently",
        'op.drop_index("ix_accounts_name", table_name="accounts")',
        {"postgresql": {"drop-index-without-concurrently"}},
        "accounts",
        ("drops index 'ix_accounts_name'",),
    ),
    Case(
        "concurrently_in_transaction",
        'op.create_index("ix_accounts_legacy", "accounts", ["legacy"], '
        "postgresql_concurrently=True)",
        {"postgresql": {"concurrently-in-transaction"}},
        "accounts",
        ("uses CONCURRENTLY on table 'accounts' inside the migration's transaction",),
    ),
    Case(
        "foreign_key_validates",
        'op.create_foreign_key("fk_orders_account", "orders", "accounts", ["account_id"], ["id"])',
        {"postgresql": {"foreign-key-validates"}},
        "orders",
        ("adds foreign key 'fk_orders_account' to table 'orders' and validates it at once",),
        sqlite=_batch(
            "orders",
            'create_foreign_key("fk_orders_account", "accounts", ["account_id"], ["id"])',
        ),
    ),
    Case(
        "check_validates",
        'op.create_check_constraint("ck_orders_total", "orders", "total >= 0")',
        {"postgresql": {"check-validates"}},
        "orders",
        ("adds check constraint 'ck_orders_total' to table 'orders'",),
        sqlite=_batch("orders", 'create_check_constraint("ck_orders_total", "total >= 0")'),
    ),
    Case(
        "set_not_null",
        'op.alter_column("accounts", "name", nullable=False, existing_type=sa.String(100))',
        {"postgresql": {"set-not-null"}, "mariadb": {"table-copy"}},
        "accounts",
        ("column 'name' of table 'accounts'",),
        sqlite=_batch(
            "accounts", 'alter_column("name", nullable=False, existing_type=sa.String(100))'
        ),
    ),
    Case(
        "type_rewrite",
        'op.alter_column("orders", "total", type_=sa.BigInteger, existing_type=sa.Integer)',
        {"postgresql": {"type-rewrite"}, "mariadb": {"table-copy"}},
        "orders",
        ("column 'total' of table 'orders'",),
        sqlite=_batch(
            "orders", 'alter_column("total", type_=sa.BigInteger, existing_type=sa.Integer)'
        ),
    ),
    Case(
        "volatile_default",
        'op.add_column("sessions", sa.Column("seed", sa.Float, '
        'server_default=sa.text("random()")))',
        {"postgresql": {"volatile-default"}},
        "sessions",
        ("adds column 'seed' to table 'sessions' with a volatile default",),
    ),
    Case(
        "table_copy",
        'op.alter_column("accounts", "name", type_=sa.String(300), existing_type=sa.String(100))',
        {"mariadb": {"table-copy"}},
        "accounts",
        ("changes column 'name' of table 'accounts' in a way that copies the table",),
        sqlite=_batch(
            "accounts",
            'alter_column("name", type_=sa.String(300), existing_type=sa.String(100))',
        ),
    ),
    Case(
        "raw_sql",
        'op.execute("ALTER TABLE orders ADD COLUMN note VARCHAR(20)")',
        _all("raw-sql"),
        "orders",
        ("runs SQL the review cannot analyse on table 'orders'",),
    ),
    Case(
        "partial_review",
        'rows = op.get_bind().execute(sa.text("SELECT id FROM accounts")).fetchall()',
        _all("partial-review"),
        None,
        ("reads the database through op.get_bind()",),
    ),
    Case(
        "new_table",
        'op.create_table("audit", sa.Column("id", sa.Integer, primary_key=True))\n'
        'op.create_index("ix_audit_id", "audit", ["id"])',
        {},
    ),
]

#: The ``gate`` branch: waived on the operation's line, waived for the file, then blocked.
GATE = [
    (
        "g1",
        "drop sessions",
        'op.drop_table("sessions")  # alembic-review: ignore drop-table -- archived in r0',
    ),
    (
        "g2",
        "drop legacy",
        "# alembic-review: ignore destructive -- copied to the warehouse\n"
        'op.drop_column("accounts", "legacy")',
    ),
    ("g3", "drop totals", 'op.drop_column("orders", "total")'),
]


def _project(tmp_path: Path, dialect: str) -> tuple[Path, list[Case]]:
    cases = []
    for case in CASES:
        code = case.code if dialect != "sqlite" or case.sqlite is None else case.sqlite
        if code:
            cases.append(Case(case.rev, code, case.expect, case.table, case.says))
    revisions = [Revision("r0", None, "tables", upgrade_sql=[], upgrade_code=BASE)]
    parent = "r0"
    for number, case in enumerate(cases):
        revisions.append(
            Revision(
                case.rev,
                parent,
                case.rev.replace("_", " "),
                branch_labels=["codes"] if number == 0 else None,
                upgrade_sql=[],
                upgrade_code="import sqlalchemy as sa\n" + case.code,
            )
        )
        parent = case.rev
    parent = "r0"
    for number, (rev, message, code) in enumerate(GATE):
        revisions.append(
            Revision(
                rev,
                parent,
                message,
                branch_labels=["gate"] if number == 0 else None,
                upgrade_sql=[],
                upgrade_code=code,
            )
        )
        parent = rev
    return make_project(tmp_path / "alembic", revisions=revisions), cases


def _config(project: Path, database: Database) -> str:
    provider = provider_block(project).rstrip().removesuffix("}")
    environment = hcl({"DATABASE_URL": database.url})
    return (
        provider
        + '  review {\n    block = ["destructive"]\n  }\n}\n'
        + '\nresource "alembic_upgrade" "codes" {\n'
        + '  target = "codes@head"\n'
        + f"  environment = {environment}\n"
        + "  review {\n    block = []\n  }\n}\n"
        + '\nresource "alembic_upgrade" "gate" {\n'
        + '  target = "gate@head"\n'
        + f"  environment = {environment}\n}}\n"
    )


def _diagnostics(output: str) -> list[str]:
    """Each diagnostic of Terraform's plain output as one line of single-spaced words.

    Without a terminal Terraform prints each diagnostic from a ``Warning:`` or ``Error:`` line
    at the start of a line to the next one (with a terminal, in a box ``normalise_output``
    removes).
    """
    diagnostics: list[list[str]] = []
    for raw in output.splitlines():
        line = raw.strip().lstrip("╷│╵").strip()
        if re.match(r"(Warning|Error): ", line):
            diagnostics.append([])
        if diagnostics:
            diagnostics[-1].append(line)
    return [" ".join(" ".join(lines).split()) for lines in diagnostics]


def _size(dialect: str) -> str:
    """How a populated table's size reads: rows and bytes, or bytes only on SQLite."""
    if dialect == "postgresql":
        return rf"\[~{ROWS:,} rows, [\d.]+ (kB|MB)\]"
    if dialect == "mariadb":
        return r"\[~[\d,]+ rows, [\d.]+ (kB|MB)\]"
    return r"\[[\d.]+ (kB|MB)\]"


@pytest.mark.parametrize("database", DIALECTS, indirect=True)
def test_every_code_warns_on_its_dialects_and_the_policy_blocks_what_no_waiver_lifts(
    harness: Harness, database: Database, tmp_path: Path
) -> None:
    dialect = database.kind
    project, cases = _project(tmp_path, dialect)
    run_alembic(project, database, "upgrade", "r0")
    plans: list[CommandResult] = []

    def keep(result: CommandResult) -> None:
        if result.argv[1] == "plan":
            plans.append(result)

    harness.test(
        [
            Step(
                config=_config(project, database),
                plan_only=True,
                expect_error=r"Migration Blocked By Review",
            )
        ],
        provider=PROVIDER,
        on_command=keep,
    )
    assert len(plans) == 1, [p.argv for p in plans]
    output = plans[0].stdout + "\n" + plans[0].stderr
    boxes = _diagnostics(output)
    text = " ".join(boxes)
    size = _size(dialect)

    warned: dict[str, str] = {}
    for box in boxes:
        if match := re.match(r"Warning: Migration Review Of Revision '(\w+)'", box):
            assert match.group(1) not in warned, f"two warnings for {match.group(1)}"
            warned[match.group(1)] = box
    for case in cases:
        expected = case.expect.get(dialect, set())
        box = warned.pop(case.rev, "")
        found = set(re.findall(r"- (?:destructive|breaking|locking|opaque) ([\w-]+)", box))
        assert found == expected, (case.rev, dialect, box)
        if not expected:
            continue
        assert f"Revision '{case.rev}' ({case.rev.replace('_', ' ')}) was reviewed" in box, box
        for words in case.says:
            assert words in box, (case.rev, words, box)
        if case.table is not None:
            assert re.search(size, box), (case.rev, size, box)
        for code in expected:
            assert f"Safer: {CODES[code].safer}." in box, (code, box)
    assert not warned, f"warnings of revisions that should be quiet: {warned}"

    applies = {code for codes in (c.expect.get(dialect, set()) for c in cases) for code in codes}
    for code in set(CODES) - applies:
        assert f" {code}" not in text, (code, dialect)
    for code, spec in CODES.items():
        assert (code in applies) == (not spec.dialects or dialect in spec.dialects), code

    (blocked,) = [b for b in boxes if b.startswith("Error: Migration Blocked By Review")]
    assert "with alembic_upgrade.gate" in blocked, blocked
    assert "Revision 'g3' (drop totals):" in blocked, blocked
    assert "destructive drop-column" in blocked, blocked
    assert "drops column 'total' of table 'orders'" in blocked, blocked
    assert re.search(size, blocked), blocked
    assert "'g1'" not in blocked and "'g2'" not in blocked, blocked
    (waivers,) = [b for b in boxes if b.startswith("Warning: Migration Review Waivers")]
    assert (
        "2 findings of the review are waived by alembic-review comments in the revision files: "
        "'g1' drop-table (archived in r0), 'g2' drop-column (copied to the warehouse)."
    ) in waivers, waivers
    assert database.heads() == ("r0",), "a plan must not move the database"
