"""``proxy_command`` through Terraform: a proxy that fails is reported, ``proxy_sleep`` is waited.

The proxy is the stand-in from ``tests/proxy/fake_proxy.py``. One that exits before it is ready
must fail the plan with its exit status and its last output lines. One without ``proxy_ready``
is given ``proxy_sleep`` before the work starts: the migration itself measures how long ago the
proxy's supervisor started (its start time in ``/proc``, on the boot clock), which can only
overstate the wait the provider made, never understate it. The migrations run on SQLite: the
proxy's handling does not depend on the database. Runs with the newest Terraform.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from acceptance.databases import sqlite_database
from acceptance.harness import Harness, Step
from acceptance.state import State
from acceptance.test_upgrade_semantics import (
    PROVIDER,
    HclValue,
    database_at,
    provider_block,
    resource_block,
)
from tests.alembic_projects import Revision, make_project
from tests.support import fake_proxy_command

pytestmark = [pytest.mark.acceptance, pytest.mark.newest_terraform]

#: Migration code: write how many seconds ago the supervisor of the proxy marked by
#: ``ALEMBIC_TEST_PROXY_MARK`` (a path on its command line) started.
MEASURE_WAIT = """\
import time
mark = os.environ["ALEMBIC_TEST_PROXY_MARK"].encode()
for entry in os.listdir("/proc"):
    try:
        with open("/proc/" + entry + "/cmdline", "rb") as cmdline:
            command = cmdline.read()
    except OSError:
        continue
    if b"_supervisor" in command and mark in command:
        with open("/proc/" + entry + "/stat") as stat:
            ticks = int(stat.read().rpartition(")")[2].split()[19])
        started = ticks / os.sysconf("SC_CLK_TCK")
        waited = time.clock_gettime(time.CLOCK_BOOTTIME) - started
        with open(os.environ["ALEMBIC_TEST_WAITED"], "w") as out:
            out.write(repr(waited))
"""


def _config(project: Path, **resource: HclValue) -> str:
    return provider_block(project) + resource_block("alembic_upgrade", "db", **resource)


def test_a_proxy_that_exits_before_it_is_ready_fails_the_plan_with_its_output(
    harness: Harness, tmp_path: Path
) -> None:
    database = sqlite_database(tmp_path)
    project = make_project(tmp_path / "alembic", revisions=[Revision("r1", None)])
    command = fake_proxy_command(
        *("--say", "starting"), *("--say", "error: instance not found"),
        *("--exit-after", "0"), *("--status", "3"),
    )  # fmt: skip
    config = _config(
        project,
        target="heads",
        environment={"DATABASE_URL": database.url},
        proxy_command=command,
        proxy_ready=str(tmp_path / "proxy.sock"),
    )
    expected = (
        f"The proxy command {command!r} exited before it was ready (exit status 3). "
        "Last output of the proxy: starting error: instance not found"
    )
    harness.test(
        [Step(config=config, expect_error=re.compile(re.escape(expected)))], provider=PROVIDER
    )
    assert database.heads() == (), "nothing ran without the proxy"


def test_without_proxy_ready_the_work_starts_after_proxy_sleep(
    harness: Harness, tmp_path: Path
) -> None:
    database = sqlite_database(tmp_path)
    project = make_project(
        tmp_path / "alembic", revisions=[Revision("r1", None, upgrade_code=MEASURE_WAIT)]
    )
    mark, waited = tmp_path / "proxy-mark", tmp_path / "waited"
    environment = {
        "DATABASE_URL": database.url,
        "ALEMBIC_TEST_PROXY_MARK": str(mark),
        "ALEMBIC_TEST_WAITED": str(waited),
    }
    config = _config(
        project,
        target="heads",
        environment=environment,
        proxy_command=fake_proxy_command("--record", str(mark)),
        proxy_sleep="4s",
    )

    def waited_for_the_sleep(state: State) -> None:
        database_at(database, ["r1"])(state)
        assert float(waited.read_text()) >= 4.0, waited.read_text()

    harness.test([Step(config=config, check=waited_for_the_sleep)], provider=PROVIDER)
