"""A full disk under the models folder: a clean failure naming the reason, `final` untouched, never a 500.

The folder is a real tmpfs of 512 KiB and 48 inodes, so ENOSPC comes from the kernel, not from a mock.
Mounting needs root; where that is not allowed the tests skip and say why.
"""

from __future__ import annotations

import errno
import json
import subprocess

import pytest
from fastapi.testclient import TestClient

from doppel.registry import Registry


@pytest.fixture
def small_disk(tmp_path):
    mount = tmp_path / "models"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=512k,nr_inodes=48", "tmpfs", str(mount)], capture_output=True, text=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {done.stderr.strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def _write(text_kib: int):
    def write(folder):
        (folder / "adapter").mkdir()
        (folder / "adapter" / "weights.bin").write_bytes(b"w" * 1024 * text_kib)
        (folder / "metrics.json").write_text(json.dumps({"val_loss": 1.0}))

    return write


def _fill_bytes(folder) -> None:
    with (folder / "filler.bin").open("wb") as fh:
        try:
            while True:
                fh.write(b"\0" * 65536)
                fh.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC


def _fill_inodes(folder) -> None:
    (folder / "inodes").mkdir()
    for i in range(1000):
        try:
            (folder / "inodes" / str(i)).touch()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
            return
    raise AssertionError("the tmpfs never ran out of inodes")


def test_writing_a_version_on_a_full_disk_fails_cleanly(small_disk):
    registry = Registry(small_disk)
    v1 = registry.register("t", _write(8), mode="full", manifest={})
    registry.promote("t", v1.name)
    _fill_bytes(small_disk)
    with pytest.raises(OSError) as raised:
        registry.register("t", _write(64), mode="full", manifest={})
    assert raised.value.errno == errno.ENOSPC
    assert [v.name for v in registry.versions("t")] == ["v1.0"] and registry.final("t").name == "v1.0"
    assert registry.verify(registry.final("t")) == []
    assert not [p for p in (small_disk / "t").iterdir() if p.name.startswith(".incoming-")]


def test_promote_and_rollback_on_a_full_disk_are_507_naming_the_reason(small_disk, make_settings, database_url):
    from doppel.service.app import create_app

    registry = Registry(small_disk)
    for _ in range(2):
        registry.register("allan-maverick", _write(4), mode="full", manifest={})
    registry.promote("allan-maverick", "v1.0")
    registry.promote("allan-maverick", "v2.0")
    settings = make_settings().model_copy(update={"models_dir": small_disk})
    _fill_inodes(small_disk)  # no room for the new `final` link
    with TestClient(create_app(settings, run_worker=False), raise_server_exceptions=False) as client:
        promoted = client.post("/api/versions/v1.0/promote", json={})
        assert promoted.status_code == 507, promoted.text
        assert "No space left on device" in promoted.text and "final is v2.0" in promoted.text
        rolled = client.post("/api/versions/rollback", json={})
        assert rolled.status_code == 507 and "final is v2.0" in rolled.text
    assert registry.final("allan-maverick").name == "v2.0"
    assert [e["version"] for e in registry.history("allan-maverick")] == ["v1.0", "v2.0"]
