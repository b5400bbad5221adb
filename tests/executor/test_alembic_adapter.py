"""The worker's private Alembic uses (``tfalembic_alembic``), on every supported Alembic.

Each function runs in a fresh interpreter: the development one (the current Alembic) and the
one ``ALEMBIC_TEST_LEGACY_PYTHON`` names (Alembic 1.7.7 with SQLAlchemy 1.4), so an Alembic
release that moves a private name fails here, by name.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from alembic_provider.executor.process import WORKER_PATH
from tests.alembic_projects import Revision as Rev
from tests.alembic_projects import make_project

LEGACY = os.environ.get("ALEMBIC_TEST_LEGACY_PYTHON", "")

INTERPRETERS = [
    pytest.param(sys.executable, id="current"),
    pytest.param(
        LEGACY,
        id="legacy",
        marks=pytest.mark.skipif(not LEGACY, reason="ALEMBIC_TEST_LEGACY_PYTHON is not set"),
    ),
]

# Two labelled branches from one base, their merge, and an unrelated root.
REVISIONS = [
    Rev("r0", None),
    Rev("a1", "r0", branch_labels=["a"]),
    Rev("a2", "a1"),
    Rev("b1", "r0", branch_labels=["b"]),
    Rev("b2", "b1"),
    Rev("m", ("a2", "b2")),
    Rev("c1", None),
]

_PRELUDE = """
import json, sys
sys.path.insert(0, sys.argv[1])
from alembic.config import Config
from alembic.script import ScriptDirectory
import tfalembic_alembic as adapter
import tfalembic_scripts as scripts
script = ScriptDirectory.from_config(Config("alembic.ini"))
"""


def _ask(python: str, project: Path, body: str, *args: str) -> Any:
    """Run ``body`` after the prelude in ``python``; return what it printed last, as JSON.

    ``sys.argv[2:]`` are ``args``.
    """
    code = _PRELUDE + textwrap.dedent(body)
    done = subprocess.run(
        [python, "-c", code, str(WORKER_PATH), *args],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}", REVISIONS)


@pytest.mark.parametrize("python", INTERPRETERS)
def test_stamp_steps_replace_only_the_heads_on_the_target_lineage(
    python: str, project: Path
) -> None:
    answer = _ask(
        python,
        project,
        """
        def stamped(revision, heads):
            steps = adapter.stamp_steps(script, revision, heads)
            return adapter.heads_after_steps(heads, steps)

        print(json.dumps([
            stamped("heads", []),
            stamped("a1", ["a2", "b2"]),
            stamped(("a1", "b1"), ["a2", "b2"]),
            stamped("c1", ["m"]),
        ]))
        """,
    )

    assert answer == [["c1", "m"], ["a1", "b2"], ["a1", "b1"], ["c1", "m"]]


@pytest.mark.parametrize("python", INTERPRETERS)
def test_heads_after_steps_follow_branches_and_merges(python: str, project: Path) -> None:
    answer = _ask(
        python,
        project,
        """
        def after(verb, destination, heads):
            steps = scripts.steps_to(script, verb, destination, heads)
            return adapter.heads_after_steps(heads, steps)

        print(json.dumps([
            after("upgrade", "a2", []),
            after("upgrade", ("a2", "b1"), []),
            after("upgrade", "heads", ["a2", "b2"]),
            after("downgrade", "a1", ["c1", "m"]),
            after("downgrade", ("a1", "b1"), ["m"]),
            adapter.heads_after_steps(["a1"], []),
        ]))
        """,
    )

    assert answer == [
        ["a2"],
        ["a2", "b1"],
        ["c1", "m"],
        ["a1", "b2", "c1"],
        ["a1", "b1"],
        ["a1"],
    ]


@pytest.mark.parametrize("python", INTERPRETERS)
def test_revisions_in_load_order_rebuild_a_map_that_walks_the_same_way(
    python: str, project: Path
) -> None:
    answer = _ask(
        python,
        project,
        """
        from alembic.script.revision import Revision, RevisionMap

        loaded = adapter.revisions_in_load_order(script)

        def fresh(revision):
            labels = getattr(revision.module, "branch_labels", None)
            return Revision(
                revision.revision,
                revision.down_revision,
                dependencies=revision.dependencies,
                branch_labels=labels,
            )

        def walk(revision_map):
            return {
                "steps": [
                    r.revision
                    for r in revision_map.iterate_revisions("heads", (), implicit_base=True)
                ],
                "heads": list(revision_map.heads),
            }

        in_order = [fresh(r) for r in loaded]
        reversed_order = [fresh(r) for r in reversed(loaded)]
        print(json.dumps({
            "ids": [r.revision for r in loaded],
            "own": walk(script.revision_map),
            "rebuilt": walk(RevisionMap(lambda: iter(in_order))),
            "reversed": walk(RevisionMap(lambda: iter(reversed_order))),
        }))
        """,
    )

    assert sorted(answer["ids"]) == sorted(r.rev_id for r in REVISIONS)
    assert answer["rebuilt"] == answer["own"]
    # The order matters for this graph, so the assertion above can fail.
    assert answer["reversed"] != answer["own"]


@pytest.mark.parametrize("python", INTERPRETERS)
def test_began_before_alembic_tells_a_transaction_env_py_opened(python: str, project: Path) -> None:
    answer = _ask(
        python,
        project,
        """
        import sqlalchemy as sa
        from alembic.runtime.migration import MigrationContext

        engine = sa.create_engine("sqlite://")
        with engine.connect() as connection:
            idle = adapter.began_before_alembic(MigrationContext.configure(connection))
        with engine.connect() as connection:
            transaction = connection.begin()
            opened = adapter.began_before_alembic(MigrationContext.configure(connection))
            transaction.rollback()
        print(json.dumps([idle, opened]))
        """,
    )

    assert answer == [False, True]


_SEQUENCES = """
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

url = sys.argv[2]
engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
with engine.begin() as connection:
    for statement in (
        "CREATE TABLE serial_id (id SERIAL PRIMARY KEY)",
        "CREATE TABLE borrowed (num INTEGER PRIMARY KEY DEFAULT nextval('serial_id_id_seq'))",
        "CREATE SEQUENCE own_seq",
        "CREATE TABLE owned (id BIGINT PRIMARY KEY DEFAULT nextval('own_seq'))",
        "ALTER SEQUENCE own_seq OWNED BY owned.id",
        "CREATE SEQUENCE loose_seq",
        "CREATE TABLE loose (id INTEGER PRIMARY KEY DEFAULT nextval('loose_seq'))",
    ):
        connection.exec_driver_sql(statement)
models = sa.MetaData()
for name, column, kind in (("serial_id", "id", sa.Integer), ("borrowed", "num", sa.Integer),
                           ("owned", "id", sa.BigInteger), ("loose", "id", sa.Integer)):
    sa.Table(name, models, sa.Column(column, kind, primary_key=True, autoincrement=False))
asked = []
sa.event.listen(engine, "before_cursor_execute",
                lambda conn, cursor, statement, *rest: asked.append("pg_depend" in statement))

def compare(fast):
    del asked[:]
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"target_metadata": models, "compare_server_default": True}
        )
        if fast:
            adapter.read_sequence_owners_at_once(context)
        found = sorted(
            (diff[0][0], diff[0][2], diff[0][3])
            for diff in compare_metadata(context, models) if isinstance(diff, list)
        )
    return {"found": found, "sequence_queries": sum(asked)}

print(json.dumps({"alembic": compare(False), "fast": compare(True)}))
"""


@pytest.mark.parametrize("python", INTERPRETERS)
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_read_sequence_owners_at_once_decides_as_alembic_does_in_one_query(
    python: str, project: Path, database_url: str
) -> None:
    """SERIAL and owned sequences leave no default; a borrowed or loose sequence is a default."""
    answer = _ask(python, project, _SEQUENCES, database_url)
    assert answer["fast"]["found"] == answer["alembic"]["found"]
    assert {table for _, table, _ in answer["fast"]["found"]} == {"borrowed", "loose"}
    # Alembic asks once per integer column with a sequence default (four here); the fast
    # hook once for all the owned ones, and leaves the sequence nobody owns to Alembic's own.
    assert answer["alembic"]["sequence_queries"] - answer["fast"]["sequence_queries"] == 2
