"""Keep what test runs start out of the user's own cache and warm server directories.

Workers keep their script graph cache, and providers started through the launcher their warm
server, in directories of this run's own; at the end the run stops its warm servers and
removes both directories, so nothing is left running.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest

pytest_plugins = ["tests.ci_skips", "tests.rows_reached"]

_VARIABLES = {
    "TERRAFORM_PROVIDER_ALEMBIC_CACHE_DIR": "tf-alembic-test-cache-",
    "TERRAFORM_PROVIDER_ALEMBIC_DAEMON_DIR": "tf-alembic-test-warm-",
}
_OWNED = pytest.StashKey[list[str]]()


def pytest_configure(config: pytest.Config) -> None:
    owned = []
    for name, prefix in _VARIABLES.items():
        if name not in os.environ:
            os.environ[name] = tempfile.mkdtemp(prefix=prefix)
            owned.append(name)
    config.stash[_OWNED] = owned


def pytest_unconfigure(config: pytest.Config) -> None:
    owned = config.stash.get(_OWNED, [])
    if "TERRAFORM_PROVIDER_ALEMBIC_DAEMON_DIR" in owned:
        from alembic_provider.rendezvous.control import stop_all
        from alembic_provider.rendezvous.settings import settings

        stop_all(settings())
    for name in owned:
        shutil.rmtree(os.environ.pop(name), ignore_errors=True)
