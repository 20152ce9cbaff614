"""``distribute`` against local servers enforcing Ollama's documented blob and create protocol.

Ollama itself cannot run here; tests/fakes/ollama_server.py's server checks what Ollama checks
(the digest of uploaded bytes, the create request's fields, that the files it names exist as blobs and
are GGUF) and counts what it receives, so a test can tell a re-run uploaded nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import time

import httpx
import pytest

from doppel.config import TwinConfig
from doppel.export import distribute as distribute_module
from doppel.export.distribute import distribute, file_sha256, host_url
from doppel.export.modelfile import ollama_spec, write_ollama_files
from tests.fakes.failing_server import failing_server
from tests.fakes.ollama_server import ollama_hub_server
from tests.fakes.ports import free_port

TWIN, VERSION = "allan-maverick", "v1.2"
TAGS = [VERSION, "latest"]
NAMES = [f"{TWIN}:{tag}" for tag in TAGS]
GGUF = f"{TWIN}-{VERSION}-q4_k_m.gguf"
# The exporter's own ollama.json, so the server's create checks also vouch for what the exporter writes.
SPEC = ollama_spec(TwinConfig(name=TWIN), GGUF)


@pytest.fixture
def export_folder(tmp_path):
    """``<models>/<twin>/<version>/export/`` as the exporter leaves it; the GGUF is a GGUF header and noise
    (create reads only the header; nothing loads the model)."""
    folder = tmp_path / "models" / TWIN / VERSION / "export"
    folder.mkdir(parents=True)
    (folder / GGUF).write_bytes(b"GGUF" + (3).to_bytes(4, "little") + os.urandom(3 * 1024 * 1024))
    write_ollama_files(folder, SPEC)
    return folder


def gguf_of(folder):
    return folder / json.loads((folder / "ollama.json").read_text())["gguf"]


def test_distribute_to_two_local_servers_enforcing_ollamas_protocol_a_dead_port_and_a_failing_host(export_folder):
    gguf = gguf_of(export_folder)
    size, digest = gguf.stat().st_size, hashlib.sha256(gguf.read_bytes()).hexdigest()
    seen: dict[str, int] = {}
    with ollama_hub_server() as a, ollama_hub_server() as b, failing_server(500) as failing:
        dead = f"http://127.0.0.1:{free_port()}"
        hosts = [a.url, dead, failing, b.url]
        results = distribute(
            export_folder,
            hosts,
            TWIN,
            TAGS,
            timeout=30,
            progress=lambda host, done, total: seen.__setitem__(host, done) if total == size else None,
        )

        assert [r.host for r in results] == hosts
        down, broken = results[1], results[2]
        for store, result in ((a, results[0]), (b, results[3])):
            assert result.ok and result.error is None, result
            assert result.uploaded == size and result.skipped == 0 and result.created == NAMES
            assert store.uploads == 1 and store.uploaded_bytes == size
            assert store.has_blob(f"sha256:{digest}")
            listed = {m["name"]: m for m in httpx.get(f"{store.url}/api/tags").json()["models"]}
            assert set(listed) == set(NAMES)
            assert listed[NAMES[0]]["digest"] == listed[NAMES[1]]["digest"]  # one model, two tags
            for name in NAMES:
                made = store.models[name]
                assert made["files"] == {gguf.name: f"sha256:{digest}"}
                assert (made["template"], made["system"], made["parameters"]) == (
                    SPEC["template"],
                    SPEC["system"],
                    SPEC["parameters"],
                )
        assert seen == {a.url: size, b.url: size}
        assert not down.ok and "checking the blob: cannot connect" in down.error and down.created == []
        assert not broken.ok and broken.error == "checking the blob: HTTP 500: Internal Server Error"  # HEAD: no body
        assert all(r.seconds > 0 for r in results)

        # The digest is cached beside the GGUF, in sha256sum's format.
        assert (export_folder / f"{gguf.name}.sha256").read_text().startswith(f"{digest}  {gguf.name}\n")

        # Again: nothing is uploaded (not even tried), both tags are made again.
        posts = a.count("POST", "/api/blobs/"), b.count("POST", "/api/blobs/")
        again = distribute(export_folder, [a.url, b.url], TWIN, TAGS, timeout=30)
        assert all(r.ok and r.uploaded == 0 and r.skipped == size and r.created == NAMES for r in again), again
        assert (a.uploads, b.uploads) == (1, 1)
        assert (a.count("POST", "/api/blobs/"), b.count("POST", "/api/blobs/")) == posts
        assert a.count("POST", "/api/create") == b.count("POST", "/api/create") == 4


def test_the_digest_is_hashed_once_and_again_only_when_the_file_changes(export_folder, monkeypatch):
    gguf = gguf_of(export_folder)
    digest = file_sha256(gguf)
    calls = []
    monkeypatch.setattr(distribute_module, "_hash_file", lambda path: calls.append(path) or "0" * 64)
    assert file_sha256(gguf) == digest and calls == []
    with gguf.open("ab") as f:
        f.write(b"more")
    assert file_sha256(gguf) == "0" * 64 and calls == [gguf]


def test_the_local_ollama_protocol_server_rejects_bytes_that_do_not_match_the_digest(export_folder):
    """The double is only worth pushing to if it refuses what Ollama would refuse."""
    gguf = gguf_of(export_folder)
    wrong = "sha256:" + hashlib.sha256(b"something else").hexdigest()
    with ollama_hub_server() as hub:
        refused = httpx.post(f"{hub.url}/api/blobs/{wrong}", content=gguf.read_bytes())
        assert refused.status_code == 400 and refused.json()["error"].startswith(f'digest mismatch, expected "{wrong}"')
        assert hub.uploads == 0 and httpx.head(f"{hub.url}/api/blobs/{wrong}").status_code == 404
        assert httpx.head(f"{hub.url}/api/blobs/sha256:abc").status_code == 400

        # A stale digest cache (same size and mtime, other bytes) gets the same refusal through distribute.
        stat = gguf.stat()
        sidecar = export_folder / f"{gguf.name}.sha256"
        sidecar.write_text(f"{wrong[7:]}  {gguf.name}\n# size={stat.st_size} mtime_ns={stat.st_mtime_ns}\n")
        [result] = distribute(export_folder, [hub.url], TWIN, TAGS, timeout=30)
        assert not result.ok and result.error.startswith("uploading the GGUF: HTTP 400: digest mismatch")
        assert result.created == [] and hub.models == {}


def test_the_local_ollama_protocol_server_enforces_the_create_request(export_folder):
    gguf = gguf_of(export_folder)
    digest = f"sha256:{file_sha256(gguf)}"
    with ollama_hub_server() as hub:
        create = f"{hub.url}/api/create"
        ok = {"model": NAMES[0], "files": {gguf.name: digest}, "stream": False}
        missing = httpx.post(create, json=ok)  # the blob was never uploaded
        assert missing.status_code == 500 and "no such file or directory" in missing.json()["error"]
        streamed = [json.loads(line) for line in httpx.post(create, json={**ok, "stream": True}).text.splitlines()]
        assert "error" in streamed[-1] and hub.models == {}

        assert httpx.post(f"{hub.url}/api/blobs/{digest}", content=gguf.read_bytes()).status_code == 201
        assert httpx.post(f"{hub.url}/api/blobs/{digest}", content=b"").status_code == 200  # already there
        for bad, error in [
            ({**ok, "modelfile": "FROM x"}, 'json: unknown field "modelfile"'),
            ({**ok, "model": ""}, "invalid model name"),
            ({**ok, "files": {gguf.name: "sha256:abc"}}, f"invalid digest for {gguf.name}: invalid digest format"),
            ({**ok, "files": {"../x.gguf": digest}}, "file path must be relative: ../x.gguf"),
            ({**ok, "parameters": {"typical_p": 0.9}}, "typical_p is deprecated"),
        ]:
            refused = httpx.post(create, json=bad)
            assert refused.status_code == 400 and refused.json()["error"].startswith(error), refused.text
        unknown = httpx.post(create, json={**ok, "parameters": {"max_tokens": 5}})
        assert unknown.status_code == 400 and unknown.json() == {"error": 'invalid option provided: "max_tokens"'}
        mistyped = httpx.post(create, json={**ok, "parameters": {"num_ctx": "2048"}})
        assert mistyped.status_code == 400 and mistyped.json() == {"error": 'option "num_ctx" must be of type integer'}
        assert httpx.post(create, json=ok).json() == {"status": "success"}
        assert [m["name"] for m in httpx.get(f"{hub.url}/api/tags").json()["models"]] == [NAMES[0]]

        assert httpx.post(f"{hub.url}/api/copy", json={"source": NAMES[0], "destination": NAMES[1]}).status_code == 200
        assert httpx.request("DELETE", f"{hub.url}/api/delete", json={"model": NAMES[0]}).status_code == 200
        gone = httpx.request("DELETE", f"{hub.url}/api/delete", json={"model": NAMES[0]})
        assert gone.status_code == 404 and gone.json() == {"error": f"model '{NAMES[0]}' not found"}
        assert sorted(hub.models) == [NAMES[1]]


def test_a_host_that_loses_the_blob_before_create_is_reported(export_folder):
    with ollama_hub_server() as good, ollama_hub_server(keep_blobs=False) as forgetful:
        ok, lost = distribute(export_folder, [good.url, forgetful.url], TWIN, TAGS, timeout=30)
    assert ok.ok and ok.created == NAMES
    assert not lost.ok and lost.uploaded == gguf_of(export_folder).stat().st_size and lost.created == []
    assert lost.error.startswith(f"creating {NAMES[0]}: open ") and "no such file or directory" in lost.error


def test_a_host_that_never_answers_times_out_without_holding_up_the_others(export_folder):
    with socket.socket() as silent, ollama_hub_server() as hub:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # connections complete in the kernel's backlog; nothing ever answers
        started = time.monotonic()
        mute, ok = distribute(export_folder, [f"127.0.0.1:{silent.getsockname()[1]}", hub.url], TWIN, TAGS, timeout=1.5)
        assert time.monotonic() - started < 20
    assert ok.ok and ok.created == NAMES
    assert not mute.ok and mute.error == "checking the blob: no answer within 1.5 s"


def test_a_broken_export_folder_is_refused_before_anything_is_sent(tmp_path, export_folder):
    with pytest.raises(FileNotFoundError):
        distribute(tmp_path / "nowhere", ["http://127.0.0.1:1"], TWIN, TAGS)
    gguf_of(export_folder).unlink()
    with pytest.raises(FileNotFoundError, match="is missing"):
        distribute(export_folder, ["http://127.0.0.1:1"], TWIN, TAGS)


def test_host_urls_read_like_ollama_host():
    assert host_url("gpu1") == "http://gpu1:11434"
    assert host_url("gpu1:8080") == "http://gpu1:8080"
    assert host_url("https://ollama.example.com/") == "https://ollama.example.com"
    assert host_url("http://127.0.0.1:5000") == "http://127.0.0.1:5000"
    assert host_url("[::1]") == "http://[::1]:11434"
