"""Shared test configuration: the Hypothesis profiles every suite runs under.

Workers started by the tests keep their script graph cache in a directory of this run's own,
removed at the end, instead of the user's cache directory.

``dev`` keeps local runs quick, ``ci`` is deterministic and bounded (chosen automatically when
``CI`` is set), ``long`` searches deeper. Pick one with ``HYPOTHESIS_PROFILE`` or
``--hypothesis-profile``.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("dev", max_examples=50, deadline=None)
settings.register_profile(
    "ci",
    max_examples=100,
    derandomize=True,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("long", max_examples=2000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


_CACHE_VARIABLE = "TERRAFORM_PROVIDER_ALEMBIC_CACHE_DIR"


def pytest_configure(config: pytest.Config) -> None:
    if _CACHE_VARIABLE not in os.environ:
        os.environ[_CACHE_VARIABLE] = tempfile.mkdtemp(prefix="tf-alembic-test-cache-")
        config.stash[_cache_key] = os.environ[_CACHE_VARIABLE]


def pytest_unconfigure(config: pytest.Config) -> None:
    directory = config.stash.get(_cache_key, None)
    if directory is not None:
        shutil.rmtree(directory, ignore_errors=True)
        os.environ.pop(_CACHE_VARIABLE, None)


_cache_key = pytest.StashKey[str]()
