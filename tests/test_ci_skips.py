"""A skip under ``CI`` fails the run with its reason; one that does not apply here stays a skip."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.ci_skips import NOT_HERE
from tests.support import ROOT

_CASES = f"""
import pytest

def test_missing_server():
    pytest.skip("the test server is not reachable")

@pytest.mark.skipif(True, reason="ALEMBIC_TEST_SOMETHING is not set")
def test_marked():
    pass

def test_not_here():
    pytest.skip({NOT_HERE!r} + "needs root")

@pytest.mark.xfail(reason="known")
def test_expected_failure():
    assert False

def test_runs():
    pass
"""


def _run(tmp_path: Path, ci: str | None) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_cases.py").write_text(_CASES)
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci is not None:
        env["CI"] = ci
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.ci_skips", "-p", "no:cacheprovider",
         "-n", "0", "-q", "-rA", "--rootdir", str(tmp_path), "-c", os.devnull, str(tmp_path)],
        capture_output=True, text=True, check=False, cwd=tmp_path, env=env,
    )  # fmt: skip


def test_under_ci_a_skip_fails_with_its_reason(tmp_path: Path) -> None:
    run = _run(tmp_path, "true")
    assert run.returncode == 1, run.stdout + run.stderr
    out = run.stdout
    assert "test_cases.py::test_missing_server was skipped under CI, where every test must " \
        "run: the test server is not reachable" in out, out  # fmt: skip
    assert "test_cases.py::test_marked was skipped under CI, where every test must run: " \
        "ALEMBIC_TEST_SOMETHING is not set" in out, out  # fmt: skip
    summary = "1 failed, 1 passed, 1 skipped, 1 xfailed, 1 error"  # a marked skip fails in setup
    assert out.splitlines()[-1].startswith(summary), out


@pytest.mark.parametrize("ci", [None, ""])
def test_elsewhere_a_skip_stays_a_skip(tmp_path: Path, ci: str | None) -> None:
    run = _run(tmp_path, ci)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.splitlines()[-1].startswith("1 passed, 3 skipped, 1 xfailed"), run.stdout
