"""The Ollama and OpenAI-compatible backends against real servers answering with the real base model.

Ollama itself cannot run here, so its backend talks to a local server that enforces Ollama's
documented HTTP protocol (tests/fakes/ollama_server.py) and answers with llama.cpp on the
base GGUF; the OpenAI-compatible backend talks to llama-cpp-python's own server, unmodified.
"""

from __future__ import annotations

import math

import httpx
import pytest

from doppel.config import Settings
from doppel.inference.backend import BackendError, Generation, Sampling
from doppel.inference.backends import open_backend
from doppel.training.base_models import smollm2_gguf
from tests.fakes.failing_server import failing_server
from tests.fakes.llamacpp_server import llamacpp_openai_server
from tests.fakes.ollama_server import ollama_protocol_server
from tests.fakes.ports import free_port

MODEL = "doppel-test"
CHAT = [{"role": "user", "content": "What color is the sky on a clear day?"}]
QUESTION = [{"role": "user", "content": "Reply with the single word Yes."}]
OPTIONS = ["Yes", "No", "Maybe"]  # the base model prefers "Yes" by about 2 nats
SHORT = Sampling(max_tokens=12)


@pytest.fixture(scope="module")
def remote_home(tmp_path_factory, base_models_cache, smollm2):
    home = tmp_path_factory.mktemp("remote-home")
    (home / "base_models").symlink_to(base_models_cache, target_is_directory=True)
    return home


def backend(home, kind: str, hosts: list[str], model: str = MODEL):
    settings = Settings.model_validate(
        {
            "home": str(home),
            "twins": [{"name": "allan-maverick", "inference": {"backend": kind, "hosts": hosts, "model": model}}],
        }
    )
    return open_backend(settings, settings.twins[0], None)


@pytest.fixture(scope="module")
def ollama_url():
    with ollama_protocol_server(smollm2_gguf(), None, MODEL) as url:
        yield url


@pytest.fixture(scope="module")
def openai_url():
    with llamacpp_openai_server(smollm2_gguf(), None, MODEL) as url:
        yield url


@pytest.fixture(scope="module")
def reference_scores(remote_home):
    """The in-process transformers backend's scores on the same base model."""
    reference = backend(remote_home, "transformers", [])
    try:
        return reference.score(QUESTION, OPTIONS)
    finally:
        reference.close()


def check_chat_and_stream(twin) -> None:
    reply = twin.chat(CHAT, SHORT)
    assert reply.text and reply.prompt_tokens > 5 and 0 < reply.completion_tokens <= SHORT.max_tokens
    parts = list(twin.stream(CHAT, SHORT))
    *pieces, final = parts
    assert isinstance(final, Generation) and all(isinstance(p, str) for p in pieces) and len(pieces) > 1
    assert "".join(pieces) == final.text == reply.text  # greedy both times


def check_scores(scores: list[float], reference: list[float]) -> None:
    assert len(scores) == len(OPTIONS) and all(math.isfinite(s) and s < 0 for s in scores)
    assert scores.index(max(scores)) == reference.index(max(reference)) == 0
    # Same weights (the HF model is the GGUF dequantized); llama.cpp's quantized arithmetic differs a little.
    # A token below the server's top 20 counts at the 20th's log-prob, so a remote score is an upper bound.
    assert abs(scores[0] - reference[0]) < 1.0 and all(s > r - 1.0 for s, r in zip(scores, reference)), (
        scores,
        reference,
    )


def test_ollama_backend_against_local_server_enforcing_ollamas_documented_protocol(
    remote_home, ollama_url, reference_scores
):
    twin = backend(remote_home, "ollama", [ollama_url])
    try:
        assert twin.kind == "ollama"
        check_chat_and_stream(twin)
        check_scores(twin.score(QUESTION, OPTIONS), reference_scores)
    finally:
        twin.close()


def test_ollama_backend_fails_over_to_the_next_host(remote_home, ollama_url):
    dead = f"http://127.0.0.1:{free_port()}"
    with failing_server(503) as overloaded:
        twin = backend(remote_home, "ollama", [dead, overloaded, ollama_url])
        try:
            assert twin.chat(QUESTION, Sampling(max_tokens=4)).text
            assert list(twin.stream(QUESTION, Sampling(max_tokens=4)))[-1].text
        finally:
            twin.close()
    nobody = backend(remote_home, "ollama", [dead])
    with pytest.raises(BackendError, match="no host answered"):
        nobody.chat(QUESTION, Sampling(max_tokens=4))
    nobody.close()


def test_ollama_backend_names_the_export_for_a_missing_model(remote_home, ollama_url):
    twin = backend(remote_home, "ollama", [ollama_url], model="no-such-twin")
    with pytest.raises(BackendError, match="doppel distribute"):
        twin.chat(QUESTION, Sampling(max_tokens=4))


def test_the_ollama_protocol_server_enforces_the_documented_request(ollama_url):
    """The double is only worth testing against if it refuses what Ollama would not take."""
    generate = f"{ollama_url}/api/generate"
    ok = {"model": MODEL, "prompt": "hi", "raw": True, "stream": False, "options": {"num_predict": 1}}

    refused = httpx.post(generate, json={**ok, "max_tokens": 5})
    assert refused.status_code == 400 and refused.json() == {"error": 'json: unknown field "max_tokens"'}
    assert httpx.post(generate, json={**ok, "raw": "yes"}).status_code == 400
    assert httpx.post(generate, json={**ok, "options": {"max_tokens": 5}}).status_code == 400
    assert httpx.post(generate, json={**ok, "options": {"num_predict": "1"}}).status_code == 400
    missing = httpx.post(generate, json={**ok, "model": "nope"})
    assert missing.status_code == 404 and missing.json() == {"error": 'model "nope" not found, try pulling it first'}

    # raw: the prompt is tokenized as given; without it Ollama wraps it in the model's template.
    raw = httpx.post(generate, json=ok).json()
    templated = httpx.post(generate, json={**ok, "raw": False}).json()
    assert raw["prompt_eval_count"] == 1 < templated["prompt_eval_count"]
    assert "context" not in raw and "context" in templated
    for field in (
        "model",
        "created_at",
        "response",
        "done",
        "done_reason",
        "total_duration",
        "load_duration",
        "prompt_eval_count",
        "prompt_eval_duration",
        "eval_count",
        "eval_duration",
    ):
        assert field in raw, field

    listed = httpx.post(
        generate, json={**ok, "prompt": "The capital of France is", "logprobs": True, "top_logprobs": 3}
    ).json()
    (entry,) = listed["logprobs"]
    assert set(entry) == {"token", "logprob", "bytes", "top_logprobs"} and len(entry["top_logprobs"]) == 3
    assert entry["token"] == listed["response"] and bytes(entry["bytes"]).decode() == entry["token"]

    assert httpx.get(f"{ollama_url}/api/tags").json()["models"][0]["name"] == f"{MODEL}:latest"
    assert httpx.get(f"{ollama_url}/api/version").json()["version"]


def test_openai_backend_against_llama_cpp_server(remote_home, openai_url, reference_scores):
    twin = backend(remote_home, "openai", [openai_url])
    try:
        assert twin.kind == "openai"
        check_chat_and_stream(twin)
        check_scores(twin.score(QUESTION, OPTIONS), reference_scores)
    finally:
        twin.close()


@pytest.mark.parametrize("kind", ["ollama", "openai"])
def test_remote_servers_serve_the_twins_lora_and_decide_like_it(kind, decider_twin):
    """The version's adapter as a LoRA GGUF on the base GGUF: the trained preference wins on both servers.

    The bare base model prefers "Accept" here, so the win also shows the adapter reached the server.
    """
    from doppel.training.lora_gguf import adapter_gguf

    start = ollama_protocol_server if kind == "ollama" else llamacpp_openai_server
    with start(smollm2_gguf(), adapter_gguf(decider_twin.version), MODEL) as url:
        inference = decider_twin.twin.inference.model_copy(update={"backend": kind, "hosts": [url], "model": MODEL})
        twin = open_backend(
            decider_twin.settings, decider_twin.twin.model_copy(update={"inference": inference}), decider_twin.version
        )
        try:
            scores = twin.score(decider_twin.messages, decider_twin.options)
        finally:
            twin.close()
    best = scores.index(max(scores))
    assert decider_twin.options[best] == decider_twin.preferred, scores
    # Each token of the trained reply, its end of turn included, is the server's top pick: read exactly,
    # near 0 (transformers: -0.012). Control tokens all printed as "" once made this -12 on llama-cpp-python.
    assert scores[best] > -0.1, scores
