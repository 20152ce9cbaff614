"""What the HTTP backends (Ollama, OpenAI-compatible) share: host failover, and scoring by a prefix walk.

Remote servers report log-probs only for tokens they generate, never for a
given continuation, so an option's log-likelihood is assembled one token at a
time: for every prefix of the option (prompt + option tokens so far) the server
generates ONE token and lists its top alternatives; the option's next token is
looked up there by its text. Options share prefixes (a trie), and each distinct
prefix costs one request.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import httpx

from doppel.inference.backend import BackendError, Messages
from doppel.inference.prompting import Prompter

TOP_LOGPROBS = 20  # the most Ollama and OpenAI's completions API list per position
HOT_RETRIES = 4  # tries at a high temperature when the server keeps picking an end token
HOT_TEMPERATURE = 100.0

# (token text, log-prob) of the most likely next tokens, best first.
Alternatives = list[tuple[str, float]]
# ask(text, attempt) -> the alternatives for the one token after ``text``, or None when the server
# generated an end token: Ollama and llama.cpp report nothing for those. Attempt 0 is greedy; later
# attempts should sample hot (seeded by ``attempt``) so some other token comes out with the list.
Ask = Callable[[str, int], "Alternatives | None"]


class HostPool:
    """Base URLs tried in order; a connection error or a 5xx moves on to the next one.

    The host that last answered is tried first, so a dead first host costs one failed connection per
    outage rather than one per request (scoring sends several).
    """

    def __init__(self, urls: Sequence[str], *, timeout: float, headers: dict[str, str] | None = None):
        if not urls:
            raise BackendError("no hosts configured (twin.inference.hosts)")
        self.urls = [u.rstrip("/") for u in urls]
        # A dead host should fail fast; the read timeout covers a slow generation.
        self.client = httpx.Client(timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)), headers=headers)
        self._first = 0

    def send(
        self,
        method: str,
        path: str,
        *,
        json: dict | None = None,
        stream: bool = False,
        skip: Callable[[httpx.Response], str | None] | None = None,
    ) -> tuple[str, httpx.Response]:
        """The first host's answer that is not a failure; ``skip`` names other replies to move past."""
        failures: list[str] = []
        order = self.urls[self._first :] + self.urls[: self._first]
        for url in order:
            try:
                response = self.client.send(self.client.build_request(method, url + path, json=json), stream=stream)
            except httpx.TransportError as exc:
                failures.append(f"{url}: {type(exc).__name__}: {exc}")
                continue
            reason = f"HTTP {response.status_code}: {error_text(response)}" if response.status_code >= 500 else None
            if reason is None and skip is not None:
                reason = skip(response)
            if reason is not None:
                failures.append(f"{url}: {reason}")
                response.close()
                continue
            self._first = self.urls.index(url)
            return url, response
        raise HostsFailed(failures)

    def post_to_model(
        self, path: str, body: dict, *, stream: bool, missing: Callable[[str], str], refused: str
    ) -> httpx.Response:
        """POST to the first host serving the model. A 404 from every host raises ``missing(first 404 text)``
        (how to get the model there); any other non-200 raises ``refused`` with the host's message."""
        not_found: list[str] = []

        def skip(response: httpx.Response) -> str | None:
            if response.status_code == 404:
                not_found.append(error_text(response))
                return f"HTTP 404: {not_found[-1]}"
            return None

        try:
            _, response = self.send("POST", path, json=body, stream=stream, skip=skip)
        except HostsFailed as exc:
            if not_found:
                raise BackendError(missing(not_found[0])) from exc
            raise
        if response.status_code != 200:
            message = error_text(response)
            response.close()
            raise BackendError(f"{refused} (HTTP {response.status_code}): {message}")
        return response

    def close(self) -> None:
        self.client.close()


class HostsFailed(BackendError):
    def __init__(self, failures: list[str]):
        super().__init__("no host answered: " + "; ".join(failures))
        self.failures = failures


def error_text(response: httpx.Response) -> str:
    """The server's own error message (Ollama: {"error": str}; OpenAI: {"error": {"message": str}})."""
    try:
        response.read()
        body = response.json()
    except Exception:
        return response.text[:500]
    error = body.get("error", body) if isinstance(body, dict) else body
    if isinstance(error, dict):
        error = error.get("message", error)
    return str(error)[:500]


def score_by_prefix_walk(prompter: Prompter, messages: Messages, options: Sequence[str], ask: Ask) -> list[float]:
    """Log-likelihood of each option as the whole reply (its tokens, then end of turn)."""
    prompt = prompter.render(messages)
    tokenizer = prompter.tokenizer

    def decode(ids: Sequence[int]) -> str:
        return tokenizer.decode(list(ids), skip_special_tokens=False, clean_up_tokenization_spaces=False)

    seen: dict[tuple[int, ...], Alternatives] = {}
    scores = []
    for option in options:
        ids = prompter.encode(prompter.answer_text(option))
        total = 0.0
        for k in range(len(ids)):
            prefix = tuple(ids[:k])
            if prefix not in seen:
                seen[prefix] = next_token_alternatives(ask, prompt + decode(prefix))
            before, after = decode(prefix), decode(ids[: k + 1])
            # Text of token k in context: SentencePiece tokens carry their leading space only in context.
            piece = after[len(before) :] if after.startswith(before) else decode([ids[k]])
            is_end = decode([ids[k]]) == prompter.end_of_turn
            total += lookup(seen[prefix], piece, prompter.end_of_turn if is_end else None)
        scores.append(total)
    return scores


def next_token_alternatives(ask: Ask, text: str) -> Alternatives:
    for attempt in range(1 + HOT_RETRIES):
        alternatives = ask(text, attempt)
        if alternatives:
            return alternatives
    raise BackendError(
        f"the server ended the reply every time ({1 + HOT_RETRIES} tries, sampling hot after the first), so it "
        "never listed the log-probs needed to score the options; does it ignore the temperature?"
    )


def lookup(alternatives: Alternatives, piece: str, end_marker: str | None) -> float:
    """The log-prob listed for ``piece``, else the lowest listed one (the token is below it: an upper bound)."""
    if end_marker is not None:
        # Servers that print control tokens as empty text (llama-cpp-python) list the end of turn as "".
        found = [lp for t, lp in alternatives if t == end_marker] or [lp for t, lp in alternatives if t == ""]
    else:
        found = [lp for t, lp in alternatives if t == piece]
    value = max(found) if found else min(lp for _, lp in alternatives)
    if not math.isfinite(value):
        raise BackendError(f"the server listed a non-finite log-prob ({value}) for {piece!r}")
    return float(value)


class RemoteBackend:
    """What the Ollama and OpenAI-compatible backends share: a host pool, the remote model's name, the prompter."""

    kind = "remote"
    default_url = ""

    def __init__(self, hosts: HostPool, model: str, prompter, version: str | None):
        self.hosts = hosts
        self.model = model
        self.prompter = prompter
        self.version = version

    @classmethod
    def _headers(cls, cfg) -> dict[str, str] | None:
        return None

    @classmethod
    def open(cls, settings, twin, version):
        from doppel.inference.backends.common import twin_prompter

        cfg = twin.inference
        pool = HostPool(cfg.hosts or [cls.default_url], timeout=cfg.timeout_seconds, headers=cls._headers(cfg))
        prompter = twin_prompter(settings, twin, version)
        return cls(pool, cfg.model or twin.name, prompter, version.name if version is not None else None)

    def close(self) -> None:
        self.hosts.close()
