import json
import os
import threading

import pytest

from doppel.registry import FINAL, Registry, RegistryError


def writer(text="adapter weights"):
    def write(folder):
        (folder / "adapter").mkdir()
        (folder / "adapter" / "weights.bin").write_text(text)
        (folder / "metrics.json").write_text(json.dumps({"val_loss": 1.0}))

    return write


def test_versions_numbering_final_and_manifest(tmp_path):
    reg = Registry(tmp_path)
    assert reg.final("t") is None and reg.next_name("t", "full") == "v1.0"
    v1 = reg.register("t", writer(), mode="full", manifest={"base_model": {"name": "b"}})
    assert v1.name == "v1.0"
    assert reg.next_name("t", "incremental", "v1.0") == "v1.1" and reg.next_name("t", "full") == "v2.0"
    reg.promote("t", "v1.0")
    assert os.readlink(tmp_path / "t" / FINAL) == "v1.0"  # relative: survives moving the models folder
    assert reg.get("t").name == "v1.0" and reg.get("t").metrics == {"val_loss": 1.0}
    manifest = v1.manifest
    assert manifest["version"] == "v1.0" and manifest["mode"] == "full" and manifest["base_model"] == {"name": "b"}
    assert set(manifest["files"]) == {"adapter/weights.bin", "metrics.json"}
    assert reg.verify(v1) == []
    v2 = reg.register("t", writer(), mode="incremental", manifest={}, parent="v1.0")
    assert v2.name == "v1.1" and v2.manifest["parent"] == "v1.0"
    reg.promote("t", "v1.1")
    assert [v.name for v in reg.versions("t")] == ["v1.0", "v1.1"] and reg.get("t", "final").name == "v1.1"
    # A full run that stays a candidate does not change where nightly runs continue from.
    reg.register("t", writer(), mode="full", manifest={})
    assert reg.next_name("t", "incremental", parent="v1.1") == "v1.2" and reg.next_name("t", "full") == "v3.0"


def test_a_crash_while_writing_leaves_no_version_and_final_untouched(tmp_path):
    reg = Registry(tmp_path)
    reg.register("t", writer(), mode="full", manifest={})
    reg.promote("t", "v1.0")

    def crash(folder):
        (folder / "adapter").mkdir()
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        reg.register("t", crash, mode="full", manifest={})
    assert [v.name for v in reg.versions("t")] == ["v1.0"]
    assert reg.get("t").name == "v1.0"
    assert sorted(p.name for p in (tmp_path / "t").iterdir()) == [FINAL, "history.jsonl", "v1.0"]


def test_half_written_folder_is_invisible(tmp_path):
    reg = Registry(tmp_path)
    (tmp_path / "t" / "v1.0").mkdir(parents=True)  # no manifest: a crash from an older writer
    (tmp_path / "t" / ".incoming-1").mkdir()
    assert reg.versions("t") == []


def test_tampering_is_detected(tmp_path):
    reg = Registry(tmp_path)
    v = reg.register("t", writer(), mode="full", manifest={})
    (v.path / "adapter" / "weights.bin").write_text("changed")
    assert reg.verify(v) == ["adapter/weights.bin: changed"]


def test_unknown_version_lists_known_ones(tmp_path):
    reg = Registry(tmp_path)
    reg.register("t", writer(), mode="full", manifest={})
    with pytest.raises(RegistryError, match="no version 'v9.0'; versions: v1.0"):
        reg.get("t", "v9.0")
    with pytest.raises(RegistryError, match="no final version"):
        reg.get("t")


def test_concurrent_writers_get_distinct_names(tmp_path):
    reg = Registry(tmp_path)
    names, barrier = [], threading.Barrier(4)

    def run():
        def write(folder):
            writer()(folder)
            barrier.wait()  # everyone picks a name at the same moment

        names.append(reg.register("t", write, mode="full", manifest={}).name)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(names) == ["v1.0", "v2.0", "v3.0", "v4.0"]


def test_rollback_returns_to_the_previous_final(tmp_path):
    reg = Registry(tmp_path)
    for _ in range(3):
        reg.register("t", writer(), mode="full", manifest={})
    with pytest.raises(RegistryError, match="no final version"):
        reg.rollback("t")
    reg.promote("t", "v1.0")
    with pytest.raises(RegistryError, match="no earlier final"):
        reg.rollback("t")
    reg.promote("t", "v3.0")
    assert reg.rollback("t").name == "v1.0" and reg.get("t").name == "v1.0"
    assert [h["version"] for h in reg.history("t")] == ["v1.0", "v3.0", "v1.0"]
    assert reg.history("t")[-1]["reason"] == "rollback from v3.0"
    assert [r["final"] for r in reg.describe("t")] == [True, False, False]


def test_leftovers_of_killed_writers_are_removed_and_live_ones_kept(tmp_path):
    import subprocess

    from doppel.registry import _HOST

    reg = Registry(tmp_path)
    reg.register("t", writer(), mode="full", manifest={})
    dead = subprocess.Popen(["true"])
    dead.wait()  # a pid that existed and is gone
    folder = tmp_path / "t"
    killed = folder / f".incoming-{_HOST}-{dead.pid}-{'a' * 32}"
    mine = folder / f".incoming-{_HOST}-{os.getpid()}-{'b' * 32}"  # a writer at work right now
    elsewhere = folder / f".incoming-otherhost-{dead.pid}-{'c' * 32}"  # another host's: not ours to judge
    for leftover in (killed, mine, elsewhere):
        (leftover / "adapter").mkdir(parents=True)
    (folder / ".final-0123").symlink_to("v1.0")
    assert sorted(reg.clean_leftovers("t")) == sorted([killed.name, ".final-0123"])
    assert not killed.exists() and mine.exists() and elsewhere.exists()
    assert [v.name for v in reg.versions("t")] == ["v1.0"] and reg.clean_leftovers("missing") == []


def test_a_version_is_on_disk_before_its_name_appears(tmp_path, monkeypatch):
    import doppel.registry as registry

    synced = []
    monkeypatch.setattr(registry, "fsync_tree", lambda root: synced.append(sorted(p.name for p in root.iterdir())))
    real_rename = os.rename

    def rename(src, dst):
        assert synced and "manifest.json" in synced[-1], "renamed before its files were synced"
        real_rename(src, dst)

    monkeypatch.setattr(registry.os, "rename", rename)
    assert Registry(tmp_path).register("t", writer(), mode="full", manifest={}).name == "v1.0"


def test_delete_never_takes_final_and_never_reuses_a_name(tmp_path):
    reg = Registry(tmp_path)
    for _ in range(3):
        reg.register("t", writer(), mode="full", manifest={})
    reg.promote("t", "v2.0")
    reg.write_forgotten_marks("t", {"v1.0": [4], "v3.0": [4]})
    with pytest.raises(RegistryError, match="v2.0 is final"):
        reg.delete("t", "final")
    with pytest.raises(RegistryError, match="no version"):
        reg.delete("t", "v9.0")
    assert reg.delete("t", "v3.0").name == "v3.0"
    assert [v.name for v in reg.versions("t")] == ["v1.0", "v2.0"]
    assert not any(p.name.startswith(".deleting-") for p in (tmp_path / "t").iterdir())
    # The newest was deleted, yet its name stays used; and its forget mark went with it.
    assert reg.next_name("t", "full") == "v4.0" and reg.forgotten_marks("t") == {"v1.0": [4]}
    assert [r["forgotten"] for r in reg.describe("t")] == [[4], []]
    reg.register("t", writer(), mode="incremental", manifest={}, parent="v2.0")
    assert reg.next_name("t", "incremental", parent="v2.0") == "v2.2"


def test_a_killed_delete_leaves_nothing_half_visible(tmp_path):
    reg = Registry(tmp_path)
    reg.register("t", writer(), mode="full", manifest={})
    # What a delete killed between rename and removal leaves: a hidden folder of a process that is gone.
    dead = (tmp_path / "t" / "v1.0").rename(tmp_path / "t" / f".deleting-{_host()}-999999999-{'0' * 32}")
    assert reg.versions("t") == []
    assert reg.clean_leftovers("t") == [dead.name] and not dead.exists()


def _host() -> str:
    return os.uname().nodename.replace("-", "_")
