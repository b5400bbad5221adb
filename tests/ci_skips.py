"""Under ``CI``, a skipped test fails the run with its reason: CI has everything a test needs.

A pytest plugin. Locally a missing server, interpreter or tool skips the tests that need it;
in CI the same skip would hide a test that never ran, so it is reported as a failure naming
what was missing. Only a skip whose reason starts with :data:`NOT_HERE` stays a skip there:
a test that cannot apply to this machine at all (one that must act as another user, say).
"""

from __future__ import annotations

import os
from collections.abc import Generator

import pytest

__all__ = ["NOT_HERE"]

#: The start of a skip reason that CI accepts: the test does not apply to this machine.
NOT_HERE = "Not applicable here: "


def _reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    return reason.removeprefix("Skipped: ")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if not os.environ.get("CI") or not report.skipped or hasattr(report, "wasxfail"):
        return report
    reason = _reason(report)
    if not reason.startswith(NOT_HERE):
        report.outcome = "failed"
        report.longrepr = f"{item.nodeid} was skipped under CI, where every test must run: {reason}"
    return report
