"""Asking a trained twin: Python `Twin`, `doppel serve`'s /api/chat, /api/decide and the OpenAI-compatible /v1.

The twin is the session's `decider_twin`: the real SmolLM2 with an adapter trained
to answer deal questions "Counter-offer".
"""

from __future__ import annotations

import json
import math
import shutil

import pytest

from doppel.registry import Registry
from tests.integration.service import serve_trained_twin

TOKEN = "reader-token-0123456789abcdef"


@pytest.fixture(scope="module")
def local_twin(decider_twin):
    from doppel import Twin

    twin = Twin.load(decider_twin.twin.name, config=decider_twin.settings)
    yield twin
    twin.close()


@pytest.fixture(scope="module")
def server(decider_twin, pg_server, tmp_path_factory):
    folder = tmp_path_factory.mktemp("asking")
    srv = serve_trained_twin(decider_twin.settings, pg_server, folder, inference="max_new_tokens = 24")
    yield srv
    srv.stop()


def test_decide_picks_what_the_twin_learned(local_twin, decider_twin):
    decision = local_twin.decide("New client wants 30% discount", decider_twin.options)
    assert decision.choice == decider_twin.preferred
    assert max(decision.probabilities, key=decision.probabilities.get) == decider_twin.preferred
    assert math.isclose(sum(decision.probabilities.values()), 1.0, abs_tol=1e-6)
    assert set(decision.probabilities) == set(decider_twin.options)
    assert not decision.abstained and decision.version == "v1.0"
    assert isinstance(decision.rationale, str) and decision.rationale.strip()


def test_training_is_what_moved_the_choice(decider_twin):
    """The bare base model does not put that weight on the learned option: the adapter did it."""
    from doppel import Twin

    with Twin.load(decider_twin.twin.name, version=None, config=decider_twin.settings) as base:
        before = base.decide("New client wants 30% discount", decider_twin.options, rationale=False)
    assert before.probabilities[decider_twin.preferred] < 0.9


def test_the_seed_allanbot_alias(decider_twin):
    from doppel import AllanBot

    bot = AllanBot(model="allan-maverick", config=decider_twin.settings)
    options = ["Accept", "Counter-offer", "Decline"]
    decision = bot.make_decision(context="New client wants 30% discount", options=options)
    assert decision.choice == decider_twin.preferred
    bot.twin.close()


def test_a_long_history_is_cut_from_the_oldest_turn(local_twin, monkeypatch):
    # SmolLM2's window is 8192 tokens; a 512-token window keeps the real model fast on CPU.
    monkeypatch.setattr(local_twin.prompter, "context_length", 512)
    turn = "word " * 80
    history = []
    for i in range(8):
        history += [{"role": "user", "content": f"question {i}: {turn}"}, {"role": "assistant", "content": f"ok {i}"}]
    reply = local_twin.chat("And the renewal?", history=history, max_tokens=8)
    assert reply.history_dropped >= 2 and reply.history_dropped % 2 == 0
    assert "oldest" in reply.notice
    assert 0 < reply.prompt_tokens and reply.prompt_tokens + 8 <= 512
    kept = local_twin.prompter.fit(local_twin.messages_for("And the renewal?", history=history), 8).messages
    assert kept[1]["content"].startswith(f"question {reply.history_dropped // 2}:")  # the newest turns stay


def test_chat_over_http_streams_and_answers_in_the_seed_shape(server, decider_twin):
    from doppel.inference.backends import choose_backend

    # The config leaves the backend at auto: llamacpp on a CPU with llama_cpp, transformers with CUDA.
    expected = choose_backend(decider_twin.twin, decider_twin.version).kind
    body = {
        "message": "Write an email to Dana about the renewal.",
        "personality": "allan-maverick",
        "context": {"deal_amount": 50000, "deal_stage": "negotiation"},
    }
    r = server.client.post("/api/chat", json=body)
    assert r.status_code == 200, r.text
    reply = r.json()
    assert reply["twin"] == "allan-maverick" and reply["version"] == "v1.0" and reply["backend"] == expected
    assert reply["reply"] and reply["completion_tokens"] > 0 and reply["prompt_tokens"] > 20 and reply["latency_ms"] > 0

    pieces, done = [], None
    with server.client.stream("POST", "/api/chat", json={**body, "stream": True}) as s:
        assert s.status_code == 200 and s.headers["content-type"].startswith("text/event-stream")
        event = None
        for line in s.iter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:"):
                data = json.loads(line[5:])
                if event == "done":
                    done = data
                else:
                    pieces.append(data["delta"])
                event = None
    assert len(pieces) > 1, "a stream sends more than one piece"
    assert done is not None and "".join(pieces).strip() == done["reply"] == reply["reply"]


def test_decide_over_http_and_the_python_client(server, decider_twin):
    from doppel import Twin

    r = server.client.post(
        "/api/decide",
        json={"context": "New client wants 30% discount", "options": decider_twin.options, "twin": "allan-maverick"},
    )
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["choice"] == decider_twin.preferred and not d["abstained"]
    assert math.isclose(sum(d["probabilities"].values()), 1.0, abs_tol=1e-6)
    with Twin.connect(server.base, twin="allan-maverick") as remote:
        same = remote.decide("New client wants 30% discount", decider_twin.options, rationale=False)
        assert same.choice == d["choice"]
        assert all(math.isclose(same.probabilities[o], d["probabilities"][o], abs_tol=1e-4) for o in d["probabilities"])
        streamed = list(remote.stream("Hi Allan", max_tokens=6))
        assert streamed[-1].reply if hasattr(streamed[-1], "reply") else streamed[-1].text
        # An everything-is-uncertain threshold makes the same decision abstain.
        assert remote.decide(
            "New client wants 30% discount", decider_twin.options, abstain_below=1.0, rationale=False
        ).abstained


def test_the_official_openai_client_works_unchanged(server):
    openai = pytest.importorskip("openai")
    client = openai.OpenAI(base_url=f"{server.base}/v1", api_key="unused-on-loopback", timeout=120)
    models = [m.id for m in client.models.list().data]
    assert models == ["allan-maverick"]
    completion = client.chat.completions.create(
        model="allan-maverick", messages=[{"role": "user", "content": "Should we close this deal?"}], max_tokens=12
    )
    assert completion.choices[0].message.role == "assistant" and completion.choices[0].message.content
    assert completion.usage.completion_tokens <= 12 and completion.model == "allan-maverick"

    chunks = list(
        client.chat.completions.create(
            model="allan-maverick",
            messages=[{"role": "user", "content": "Should we close this deal?"}],
            max_tokens=12,
            stream=True,
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert len(chunks) > 2 and text.strip() == completion.choices[0].message.content
    assert chunks[-1].choices[0].finish_reason in ("stop", "length")

    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="nobody", messages=[{"role": "user", "content": "hi"}])


def test_bad_bodies_name_the_field(server):
    post = server.client.post
    r = post("/api/chat", json={"message": "hi", "personality": "nobody"})
    assert r.status_code == 404 and r.json()["detail"]["known_twins"] == ["allan-maverick"]
    r = post("/api/chat", json={"message": "   "})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "message"
    r = post("/api/decide", json={"context": "x", "options": ["Accept"]})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "options" and "two" in r.text
    r = post("/api/decide", json={"context": "x", "options": ["Accept", "accept "]})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "options" and "twice" in r.text
    r = post("/api/decide", json={"context": "", "options": ["A", "B"]})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "context"
    r = post("/api/chat", json={"message": "word " * 9000})  # past SmolLM2's 8192-token window
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "message" and "context window" in r.text


def test_a_new_final_is_served_without_a_restart(server, decider_twin):
    registry = Registry(decider_twin.settings.resolved_models_dir)
    source = registry.get("allan-maverick", "v1.0")

    def write(folder):
        for part in ("adapter", "tokenizer"):
            shutil.copytree(source.path / part, folder / part)

    newer = registry.register("allan-maverick", write, mode="incremental", parent="v1.0", manifest={})
    try:
        registry.promote("allan-maverick", newer.name)
        r = server.client.post("/api/chat", json={"message": "Hello", "max_tokens": 4})
        assert r.status_code == 200 and r.json()["version"] == newer.name
    finally:
        registry.promote("allan-maverick", "v1.0")


def _cli(decider_twin, tmp_path, *args, stdin: str | None = None):
    import subprocess
    import sys

    config = tmp_path / "doppel.toml"
    config.write_text(f'home = "{decider_twin.settings.home}"\n\n[[twins]]\nname = "allan-maverick"\n')
    return subprocess.run(
        [sys.executable, "-m", "doppel", *args, "--config", str(config)],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_cli_decide_prints_the_choice_as_json(decider_twin, tmp_path):
    done = _cli(
        decider_twin,
        tmp_path,
        "decide",
        "New client wants 30% discount",
        "-o",
        "Accept",
        "-o",
        "Counter-offer",
        "-o",
        "Decline",
        "--json",
        "--no-rationale",
    )
    assert done.returncode == 0, done.stderr
    decision = json.loads(done.stdout)
    assert decision["choice"] == decider_twin.preferred and decision["version"] == "v1.0"
    bad = _cli(decider_twin, tmp_path, "decide", "x", "-o", "Accept")
    assert bad.returncode == 1 and "at least two options" in bad.stderr


def test_cli_interactive_chat_keeps_the_conversation(decider_twin, tmp_path):
    done = _cli(
        decider_twin,
        tmp_path,
        "chat",
        "--max-new-tokens",
        "6",
        stdin="Write an email to Dana about pricing.\n/reset\nAnd to Bob?\n/quit\n",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("allan-maverick> ") == 2
    assert "conversation forgotten" in done.stderr


def test_one_process_serves_several_twins(decider_twin):
    """The server's model cache holds one loaded twin per name, each on its own version."""
    from doppel.config import Settings
    from doppel.service.models import ModelCache

    registry = Registry(decider_twin.settings.resolved_models_dir)
    source = registry.get("allan-maverick", "v1.0")
    if registry.final("bob") is None:

        def copy(folder):
            for part in ("adapter", "tokenizer"):
                shutil.copytree(source.path / part, folder / part)

        bob = registry.register("bob", copy, mode="full", manifest={})
        registry.promote("bob", bob.name)
    settings = Settings.model_validate(
        {
            "home": str(decider_twin.settings.home),
            "twins": [{"name": "allan-maverick"}, {"name": "bob", "persona": {"name": "Bob Stone"}}],
        }
    )
    cache = ModelCache(settings)
    try:
        allan, bob = cache.get("allan-maverick"), cache.get("bob")
        assert allan is not bob and allan is cache.get("allan-maverick")
        assert bob.messages_for("hi")[0]["content"] != allan.messages_for("hi")[0]["content"]  # each its persona
        assert bob.chat("Write an email to Dana about pricing.", max_tokens=6).twin == "bob"
    finally:
        cache.close()
