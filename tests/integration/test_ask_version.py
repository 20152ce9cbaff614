"""/api/chat and /api/decide answer from the version a request names (default: final), on the tiny model."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from doppel.pipeline import train_twin
from doppel.service.app import create_app

OPTIONS = ["Accept", "Counter-offer", "Decline"]


@pytest.fixture
def two_versions(make_settings, demo_db, tiny_model_dir):
    settings = make_settings(
        base_model={"name": str(tiny_model_dir)},
        training={"max_steps": 2, "max_length": 128, "eval_batches": 1},
        promotion={"tolerance": 10.0},
        inference={"max_new_tokens": 3},
    )
    for _ in range(2):
        train_twin(settings, overrides={"max_steps": 2})  # v1.0, then v2.0 (final)
    return settings


def test_chat_and_decide_ask_the_version_named(two_versions):
    settings = two_versions
    with TestClient(create_app(settings, run_worker=False)) as client:
        ask = {"message": "Should we close the deal?", "max_tokens": 2}
        assert client.post("/api/chat", json=ask).json()["version"] == "v2.0"
        assert client.post("/api/chat", json={**ask, "version": "final"}).json()["version"] == "v2.0"
        assert client.post("/api/chat", json={**ask, "version": "v1.0"}).json()["version"] == "v1.0"

        streamed = client.post("/api/chat", json={**ask, "version": "v1.0", "stream": True})
        done = streamed.text.split("event: done\ndata: ")[1].split("\n\n")[0]
        assert json.loads(done)["version"] == "v1.0"

        decide = {"context": "New client wants 30% discount", "options": OPTIONS, "rationale": False}
        assert client.post("/api/decide", json={**decide, "version": "v1.0"}).json()["version"] == "v1.0"
        assert client.post("/api/decide", json=decide).json()["version"] == "v2.0"

        # Final and the version asked last stay loaded; nothing else.
        models = client.app.state.doppel.models
        assert models.loaded() == [("allan-maverick", "v1.0"), ("allan-maverick", "v2.0")]

        for path, body in (("/api/chat", {**ask, "version": "v9.9"}), ("/api/decide", {**decide, "version": "v9.9"})):
            r = client.post(path, json=body)
            assert r.status_code == 404, r.text
            detail = r.json()["detail"]
            assert "v9.9" in detail["message"] and detail["version"] == "v9.9"
            assert detail["known_versions"] == ["v1.0", "v2.0"]

        # The Python client over HTTP asks the version it was connected to.
        from doppel.twin import Twin

        remote = Twin.connect("http://testserver", version="v1.0")
        remote._http = client  # the same HTTP API, served in process
        assert remote.chat("Should we close the deal?", max_tokens=2).version == "v1.0"
        assert remote.decide("New client wants 30% discount", OPTIONS, rationale=False).version == "v1.0"

        # A new final is picked up, and the old one leaves memory once nobody asks for it.
        assert client.post("/api/versions/v1.0/promote").json()["final"] == "v1.0"
        assert client.post("/api/chat", json=ask).json()["version"] == "v1.0"
        assert models.loaded() == [("allan-maverick", "v1.0")]
