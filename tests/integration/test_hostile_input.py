"""Hostile and careless requests against a real `doppel serve` with the trained SmolLM2 twin.

Each case here once gave a 500, unbounded work or a status that lied; each must now be a 4xx that names the
field (or the config key that bounds it), and the server must stay healthy afterwards.
"""

from __future__ import annotations

import concurrent.futures

import httpx
import pytest

from tests.integration.service import serve_trained_twin

ADMIN = "admin-token-0123456789abcdef"
READER = "reader-token-0123456789abcdef"
LIMITS = (
    "max_new_tokens = 16\nmax_options = 4\nmax_option_chars = 50\nmax_history_turns = 6\n"
    "max_history_chars = 500\nmax_concurrent = 1\nmax_queued = 1\n"
)


@pytest.fixture(scope="module")
def server(decider_twin, pg_server, tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    tokens = f'tokens = ["{READER}"]\nadmin_tokens = ["{ADMIN}"]\nmax_body_bytes = 100000'
    srv = serve_trained_twin(decider_twin.settings, pg_server, folder, service=tokens, inference=LIMITS)
    srv.client.headers["Authorization"] = f"Bearer {READER}"
    yield srv
    srv.stop()


def _loc(response) -> list[str]:
    return [str(p) for e in response.json()["detail"] for p in e["loc"]]


def _no_errors_logged(server) -> None:
    log = server.output()
    assert "Traceback" not in log and " 500 " not in log, log[-3000:]


def test_request_bounds_are_422s_naming_the_limit(server):
    c = server.client
    many = c.post("/api/decide", json={"context": "A deal", "options": [f"Option {i}" for i in range(5)]})
    assert many.status_code == 422 and "options" in _loc(many) and "inference.max_options" in many.text
    long = c.post("/api/decide", json={"context": "A deal", "options": ["Yes", "x" * 51]})
    assert long.status_code == 422 and "inference.max_option_chars" in long.text

    turns = [{"role": "user" if i % 2 == 0 else "assistant", "content": "hi"} for i in range(7)]
    too_many = c.post("/api/chat", json={"message": "Hello", "history": turns})
    assert too_many.status_code == 422 and "history" in _loc(too_many) and "max_history_turns" in too_many.text
    wordy = c.post("/api/chat", json={"message": "Hello", "history": [{"role": "user", "content": "x" * 501}]})
    assert wordy.status_code == 422 and "max_history_chars" in wordy.text
    v1 = c.post("/v1/chat/completions", json={"model": "allan-maverick", "messages": [*turns, turns[0]]})
    assert v1.status_code == 422 and v1.json()["error"]["param"] == "messages"
    _no_errors_logged(server)


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/chat", {"message": "Hi", "seed": 10**30}, "seed"),
        (
            "/v1/chat/completions",
            {"model": "allan-maverick", "messages": [{"role": "user", "content": "Hi"}], "seed": 10**30},
            "seed",
        ),
        (
            "/v1/chat/completions",
            {"model": "allan-maverick", "messages": [{"role": "user", "content": "Hi"}], "stop": ""},
            "stop",
        ),
        (
            "/v1/chat/completions",
            {"model": "allan-maverick", "messages": [{"role": "user", "content": [{"type": "text", "text": 5}]}]},
            "messages",
        ),
        (
            "/api/review",
            {"version": "v1.0", "pair_id": "p", "reviewer": "a\u0000b", "picked": "1", "score": 5},
            "reviewer",
        ),
        ("/api/decide", {"context": {"note": "\udcff"}, "options": ["Yes", "No"]}, "context"),
        ("/api/evaluate", {"seed": 10**30}, "seed"),
    ],
    ids=["chat-seed", "v1-seed", "v1-empty-stop", "v1-text-part-number", "review-nul", "decide-surrogate", "eval-seed"],
)
def test_inputs_that_once_gave_500_are_4xx_naming_the_field(server, path, body, field):
    import json

    headers = {"Authorization": f"Bearer {ADMIN}"} if path == "/api/evaluate" else {}
    # Sent as raw JSON so a lone surrogate arrives as the escape a hostile client would send.
    raw = json.dumps(body).encode()
    r = server.client.post(path, content=raw, headers={"content-type": "application/json", **headers})
    assert r.status_code == 422, r.text
    if path.startswith("/v1/"):
        assert r.json()["error"]["param"].split(".")[0] == field
    else:
        assert field in _loc(r)
    _no_errors_logged(server)


def test_lone_surrogates_and_nuls_anywhere_are_422(server):
    c = server.client
    raw = b'{"message": "hi \\udcff there"}'
    r = c.post("/api/chat", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 422 and "message" in _loc(r)
    assert "\\udcff" not in r.text and "\udcff" not in r.text
    nul = c.get("/api/review/next", params={"reviewer": "a\x00b"})
    assert nul.status_code == 422 and "reviewer" in _loc(nul)
    log = server.output()
    assert "there" not in log  # the text is not echoed into the log at any level the server runs at
    _no_errors_logged(server)


def test_auth_is_checked_before_the_body(server):
    c = httpx.Client(base_url=server.base, timeout=30)
    malformed = {"content": b"{not json", "headers": {"content-type": "application/json"}}
    assert c.post("/api/chat", **malformed).status_code == 401
    assert c.post("/api/train", **malformed).status_code == 401
    reader = {"content-type": "application/json", "Authorization": f"Bearer {READER}"}
    assert c.post("/api/train", content=b"{not json", headers=reader).status_code == 403
    assert c.post("/api/chat", content=b"{not json", headers=reader).status_code == 422
    # Public on purpose (docs/deployment.md, Security): the API's shape, nothing of any twin.
    assert c.get("/openapi.json").status_code == 200 and c.get("/api/versions").status_code == 401


def test_a_chunked_body_over_the_limit_is_413(server):
    def chunks():
        for _ in range(30):
            yield b" " * 10_000

    r = server.client.post("/api/chat", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413 and "larger than 100000 bytes" in r.text


def test_a_burst_is_served_or_refused_with_429_and_retry_after(server):
    body = {"message": "Tell me about the deal.", "max_tokens": 16}

    def ask(_):
        with httpx.Client(base_url=server.base, timeout=120, headers=server.client.headers) as c:
            return c.post("/api/chat", json=body)

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(ask, range(8)))
    codes = [a.status_code for a in answers]
    assert set(codes) <= {200, 429}, codes
    refused = [a for a in answers if a.status_code == 429]
    assert refused and all(a.headers["retry-after"].isdigit() for a in refused), codes
    assert codes.count(200) >= 2  # one ran, one waited its turn
    assert "inference.max_concurrent" in refused[0].text
    # Slots come back, streaming ones included: afterwards one at a time always gets through.
    with server.client.stream("POST", "/api/chat", json={**body, "stream": True}) as stream:
        assert stream.status_code == 200 and "event: done" in "".join(stream.iter_text())
    assert server.client.post("/api/chat", json=body).status_code == 200
    _no_errors_logged(server)
