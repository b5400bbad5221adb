"""The pieces of ``scripts/release.py`` that need no build: archives, hashes, documents."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import stat
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from tests.support import load_script, signing_key


@pytest.fixture(scope="module")
def release() -> ModuleType:
    return load_script("release")


def _tree(root: Path) -> Path:
    (root / "_internal" / "pkg").mkdir(parents=True)
    (root / "terraform-provider-alembic_v1.2.3").write_bytes(b"#!/bin/sh\necho hi\n")
    (root / "terraform-provider-alembic_v1.2.3").chmod(0o755)
    (root / "_internal" / "pkg" / "data.txt").write_text("data\n")
    (root / "_internal" / "lib.so").write_bytes(b"\x7fELF")
    return root


def test_archives_hold_files_only_with_their_modes_and_fixed_times(
    release: ModuleType, tmp_path: Path
) -> None:
    source = _tree(tmp_path / "src")
    archive = tmp_path / "a.zip"
    release.write_zip(source, archive)
    with zipfile.ZipFile(archive) as zf:
        infos = zf.infolist()
    assert [info.filename for info in infos] == [
        "_internal/lib.so",
        "_internal/pkg/data.txt",
        "terraform-provider-alembic_v1.2.3",
    ]
    modes = {info.filename: stat.S_IMODE(info.external_attr >> 16) for info in infos}
    assert modes["terraform-provider-alembic_v1.2.3"] == 0o755
    assert modes["_internal/pkg/data.txt"] == 0o644
    assert {info.date_time for info in infos} == {(1980, 1, 1, 0, 0, 0)}
    again = tmp_path / "b.zip"
    release.write_zip(source, again)
    assert archive.read_bytes() == again.read_bytes()


def test_h1_hash_follows_the_dirhash_summary(release: ModuleType, tmp_path: Path) -> None:
    source = _tree(tmp_path / "src")
    archive = tmp_path / "a.zip"
    release.write_zip(source, archive)
    summary = "".join(
        f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {path.relative_to(source).as_posix()}\n"
        for path in sorted(source.rglob("*"), key=lambda p: p.relative_to(source).as_posix())
        if path.is_file()
    )
    expected = base64.b64encode(hashlib.sha256(summary.encode()).digest()).decode()
    assert release.h1_hash(archive) == f"h1:{expected}"
    assert release.zh_hash(archive) == "zh:" + hashlib.sha256(archive.read_bytes()).hexdigest()


def test_sha256sums_lists_each_file_by_name(release: ModuleType, tmp_path: Path) -> None:
    (tmp_path / "b.zip").write_bytes(b"b")
    (tmp_path / "a.json").write_bytes(b"a")
    assert release.sha256sums([tmp_path / "b.zip", tmp_path / "a.json"]) == (
        f"{hashlib.sha256(b'a').hexdigest()}  a.json\n{hashlib.sha256(b'b').hexdigest()}  b.zip\n"
    )


def test_manifest_names_protocol_6(release: ModuleType) -> None:
    assert json.loads(release.manifest()) == {
        "version": 1,
        "metadata": {"protocol_versions": ["6.0"]},
    }


def test_mirror_documents_follow_the_network_mirror_protocol(
    release: ModuleType, tmp_path: Path
) -> None:
    source = _tree(tmp_path / "src")
    archive = tmp_path / "terraform-provider-alembic_1.2.3_linux_amd64.zip"
    release.write_zip(source, archive)
    index, listing = release.mirror_documents("1.2.3", {"linux_amd64": archive})
    assert json.loads(index) == {"versions": {"1.2.3": {}}}
    assert json.loads(listing) == {
        "archives": {
            "linux_amd64": {
                "url": "terraform-provider-alembic_1.2.3_linux_amd64.zip",
                "hashes": [release.h1_hash(archive), release.zh_hash(archive)],
            }
        }
    }


def test_no_signing_key_means_no_signature(
    release: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GPG_FINGERPRINT", raising=False)
    sums = tmp_path / "x_SHA256SUMS"
    sums.write_text("abc  x.zip\n")
    assert release.sign(sums) is None
    assert list(tmp_path.iterdir()) == [sums]


@pytest.fixture
def gnupg_home(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Yield the fingerprint of a throwaway signing key in a keyring of the test's own."""
    if shutil.which("gpg") is None:
        pytest.skip("gpg is not installed")
    with signing_key() as key:
        monkeypatch.setenv("GNUPGHOME", str(key.home))
        yield key.fingerprint


def test_a_configured_key_signs_sha256sums_detached(
    release: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, gnupg_home: str
) -> None:
    monkeypatch.setenv("GPG_FINGERPRINT", gnupg_home)
    sums = tmp_path / "x_SHA256SUMS"
    sums.write_text("abc  x.zip\n")
    signature = release.sign(sums)
    assert signature == tmp_path / "x_SHA256SUMS.sig"
    assert not signature.read_bytes().startswith(b"-----BEGIN")  # binary, as registries expect
    subprocess.run(["gpg", "--batch", "--verify", str(signature), str(sums)], check=True)
    sums.write_text("tampered  x.zip\n")
    bad = subprocess.run(
        ["gpg", "--batch", "--verify", str(signature), str(sums)], capture_output=True, check=False
    )
    assert bad.returncode != 0
