"""doppel.atomic: the new content or the old one, never half of one, and nothing left aside."""

from __future__ import annotations

import json
import os
import stat

import pytest

from doppel.atomic import atomic_open, atomic_path, atomic_write, atomic_write_json


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _umask() -> int:
    old = os.umask(0)
    os.umask(old)
    return old


def test_writes_text_and_bytes(tmp_path):
    assert atomic_write(tmp_path / "a.txt", "héllo\n") == tmp_path / "a.txt"
    assert (tmp_path / "a.txt").read_bytes() == "héllo\n".encode()
    atomic_write(tmp_path / "b.bin", b"\x00\xff")
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\xff"
    atomic_write(tmp_path / "c.txt", "é", encoding="latin-1")
    assert (tmp_path / "c.txt").read_bytes() == b"\xe9"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.bin", "c.txt"]


def test_replaces_an_existing_file(tmp_path):
    target = tmp_path / "f.txt"
    target.write_text("old")
    atomic_write(target, "new")
    assert target.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]


def test_json(tmp_path):
    atomic_write_json(tmp_path / "x.json", {"b": 1, "a": [1, 2]}, indent=2, sort_keys=True)
    text = (tmp_path / "x.json").read_text()
    assert text == json.dumps({"b": 1, "a": [1, 2]}, indent=2, sort_keys=True)
    assert json.loads(text) == {"a": [1, 2], "b": 1}


def test_permissions_follow_umask_unless_given(tmp_path):
    atomic_write(tmp_path / "plain", "x")
    assert _mode(tmp_path / "plain") == 0o666 & ~_umask()  # as a plain open(path, "w") gives
    atomic_write(tmp_path / "secret", "x", mode=0o600)
    assert _mode(tmp_path / "secret") == 0o600
    atomic_write(tmp_path / "shared", "x", mode=0o644)
    assert _mode(tmp_path / "shared") == 0o644
    (tmp_path / "secret").chmod(0o600)
    atomic_write(tmp_path / "secret", "y", mode=0o600)  # rewriting keeps it owner-only
    assert _mode(tmp_path / "secret") == 0o600


def test_exception_mid_write_keeps_the_old_file_and_leaves_nothing(tmp_path):
    target = tmp_path / "data.jsonl"
    target.write_text("old\n")
    with pytest.raises(RuntimeError, match="boom"), atomic_open(target) as f:
        f.write("half of the new")
        raise RuntimeError("boom")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["data.jsonl"]


def test_exception_mid_write_of_a_new_file_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError), atomic_open(tmp_path / "new.txt") as f:
        f.write("part")
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_failed_write_keeps_the_old_file(tmp_path):
    target = tmp_path / "f.txt"
    target.write_text("old")
    with pytest.raises(UnicodeEncodeError):
        atomic_write(target, "snowman ☃", encoding="ascii")
    with pytest.raises(TypeError):
        atomic_write_json(target, {"not": object()})
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]


def test_failed_rename_leaves_nothing(tmp_path, monkeypatch):
    target = tmp_path / "f.txt"
    target.write_text("old")

    def refuse(src, dst):
        raise OSError("read-only")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="read-only"):
        atomic_write(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]


def test_missing_folder_raises_and_creates_nothing(tmp_path):
    with pytest.raises(FileNotFoundError):
        atomic_write(tmp_path / "absent" / "f.txt", "x")
    assert list(tmp_path.iterdir()) == []


def test_atomic_path_for_a_writer_that_takes_a_path(tmp_path):
    target = tmp_path / "model.gguf"
    target.write_bytes(b"old")
    with atomic_path(target) as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".model.gguf.") and not tmp.exists()
        tmp.write_bytes(b"new")
        assert target.read_bytes() == b"old"  # nothing visible until the block ends
    assert target.read_bytes() == b"new"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("the converter failed")
    assert target.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["model.gguf"]
