"""Where this user's sockets live, what the warm server's is named, and whether it is used."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from alembic_provider import __version__
from alembic_provider.rendezvous import settings


def test_the_key_names_the_version_and_the_installation(monkeypatch: pytest.MonkeyPatch) -> None:
    base = settings.installation_key({})
    assert base.startswith(f"v{__version__}-")
    assert settings.installation_key({"PYTHONPATH": "/elsewhere"}) != base
    monkeypatch.setattr(settings, "__version__", "9.9.9")
    assert settings.installation_key({}).startswith("v9.9.9-")
    assert settings.installation_key({}) != base


def test_the_socket_lock_and_log_share_the_key_in_the_chosen_directory(tmp_path: Path) -> None:
    env = {settings.DIRECTORY_VARIABLE: str(tmp_path / "warm"), settings.IDLE_VARIABLE: "5"}
    config = settings.settings(env)
    assert config.directory == str(tmp_path / "warm")
    assert config.idle_seconds == 5.0
    assert config.socket_path == f"{tmp_path}/warm/{config.key}.sock"
    assert config.lock_path == f"{tmp_path}/warm/{config.key}.lock"
    assert config.log_path == f"{tmp_path}/warm/{config.key}.log"


@pytest.mark.parametrize("value", ["0", "off", "False", " no "])
def test_the_warm_server_can_be_turned_off(value: str) -> None:
    assert not settings.settings({settings.ENABLE_VARIABLE: value}).enabled


def test_the_directory_is_made_private(tmp_path: Path) -> None:
    path = settings.private_directory(str(tmp_path / "warm"))
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o700


def test_a_directory_others_may_enter_is_refused_with_the_way_out(tmp_path: Path) -> None:
    shared = tmp_path / "warm"
    shared.mkdir()
    shared.chmod(0o755)
    with pytest.raises(settings.UnsafeDirectoryError) as raised:
        settings.private_directory(str(shared))
    assert str(raised.value) == (
        f"The warm server directory '{shared}' may be entered by other users; make it "
        f"private (chmod 700 '{shared}') or remove it."
    )
