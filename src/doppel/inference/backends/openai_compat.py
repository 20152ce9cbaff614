"""The twin on any OpenAI-compatible server (vLLM, llama.cpp's server), over ``POST /v1/completions``.

Completions, not chat completions: the prompt is rendered here with the twin's
own chat template, so the server's template (if it has one) never touches it
and the model sees the tokens it was trained on.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator, Sequence

import httpx

from doppel.inference.backend import BackendError, Generation, Messages, Sampling
from doppel.inference.backends.remote_scoring import (
    HOT_TEMPERATURE,
    TOP_LOGPROBS,
    Alternatives,
    RemoteBackend,
    score_by_prefix_walk,
)

DEFAULT_BASE_URL = "http://127.0.0.1:8000/v1"


class OpenAICompatBackend(RemoteBackend):
    kind = "openai"
    default_url = DEFAULT_BASE_URL

    @classmethod
    def _headers(cls, cfg) -> dict[str, str] | None:
        key = os.environ.get(cfg.api_key_env) if cfg.api_key_env else None
        return {"Authorization": f"Bearer {key}"} if key else None

    def _body(self, prompt: str, sampling: Sampling, stream: bool) -> dict:
        return {
            "model": self.model,
            "prompt": prompt,
            "max_tokens": int(sampling.max_tokens),
            "temperature": float(sampling.temperature),
            "top_p": float(sampling.top_p),
            "seed": int(sampling.seed),
            # The end of turn as text too, in case the server does not treat it as end of generation.
            "stop": list(dict.fromkeys([*sampling.stop, self.prompter.end_of_turn])),
            "stream": stream,
        }

    def _completions(self, body: dict, stream: bool) -> httpx.Response:
        return self.hosts.post_to_model(
            "/completions",
            body,
            stream=stream,
            missing=lambda first: (
                f"model {self.model!r} is not served at {', '.join(self.hosts.urls)}: {first}. Set "
                "twin.inference.model to the name the server serves it under (GET /v1/models lists them)."
            ),
            refused="the server refused the request",
        )

    def chat(self, messages: Messages, sampling: Sampling) -> Generation:
        prompt = self.prompter.render(messages)
        response = self._completions(self._body(prompt, sampling, stream=False), stream=False)
        body = _json(response)
        choice = _first_choice(body)
        text = (choice.get("text") or "").strip()
        return self._generation(text, choice.get("finish_reason"), body.get("usage"), prompt)

    def stream(self, messages: Messages, sampling: Sampling) -> Iterator[str | Generation]:
        prompt = self.prompter.render(messages)
        response = self._completions(self._body(prompt, sampling, stream=True), stream=True)
        text, shown, finish, usage, done = "", 0, None, None, False
        try:
            for line in response.iter_lines():
                if not line.startswith("data:"):
                    continue  # blank separators, comments, event names
                data = line[len("data:") :].strip()
                if data == "[DONE]":
                    done = True
                    break
                chunk = json.loads(data)
                if "error" in chunk:
                    raise BackendError(f"the server failed mid-reply: {chunk['error']}")
                usage = chunk.get("usage") or usage
                for choice in chunk.get("choices") or []:
                    text += choice.get("text") or ""
                    finish = choice.get("finish_reason") or finish
                # Show the reply stripped, as chat() returns it: hold back whitespace until text follows it.
                visible = text.strip()
                if len(visible) > shown:
                    yield visible[shown:]
                    shown = len(visible)
        except (httpx.HTTPError, json.JSONDecodeError) as exc:
            raise BackendError(f"the server's stream broke off: {exc}") from exc
        finally:
            response.close()
        if not done and finish is None:
            raise BackendError("the server's stream ended without a finish reason or [DONE]")
        yield self._generation(text.strip(), finish, usage, prompt)

    def _generation(self, text: str, finish: str | None, usage: dict | None, prompt: str) -> Generation:
        usage = usage or {}
        prompt_tokens = usage.get("prompt_tokens") or len(self.prompter.encode(prompt))
        completion_tokens = usage.get("completion_tokens") or len(self.prompter.encode(text))
        return Generation(text, int(prompt_tokens), int(completion_tokens), "length" if finish == "length" else "stop")

    # The server holds one model; doppel cannot ask it for the base model's scores.
    scores_base = False

    def score_base(self, messages: Messages, options: Sequence[str]) -> list[float]:
        raise BackendError(
            "an OpenAI-compatible server serves the twin only: the base model's scores are not available"
        )

    def score(self, messages: Messages, options: Sequence[str]) -> list[float]:
        """Exact when the server echoes prompt log-probs (llama.cpp's and vLLM's do); else the prefix walk."""
        if self._echo_works is not False:
            exact = self._score_by_echo(messages, options)
            self._echo_works = exact is not None
            if exact is not None:
                return exact
        return score_by_prefix_walk(self.prompter, messages, options, self._next_token)

    _echo_works: bool | None = None

    def _score_by_echo(self, messages: Messages, options: Sequence[str]) -> list[float] | None:
        """Each option appended to the prompt and sent with ``echo``: the server's log-prob of each of its tokens.
        None when the server does not echo them or its tokens do not line up with ours."""
        prompt = self.prompter.render(messages)
        end = self.prompter.end_of_turn
        scores = []
        for option in options:
            answer = self.prompter.answer_text(option)
            n_answer = len(self.prompter.encode(answer))
            body = {
                "model": self.model,
                "prompt": prompt + answer,
                "max_tokens": 1,
                "temperature": 0.0,
                "echo": True,
                "logprobs": 1,
            }
            try:
                reply = _json(self._completions(body, stream=False))
            except BackendError:
                return None
            logprobs = _first_choice(reply).get("logprobs") or {}
            values, tokens = logprobs.get("token_logprobs") or [], logprobs.get("tokens") or []
            generated = int((reply.get("usage") or {}).get("completion_tokens", 1))
            # Count from the end (servers differ in how much of the prompt's start they echo): the answer's tokens
            # sit right before the generated ones. Check that they spell the option before trusting them.
            stop = len(values) - generated
            start = stop - n_answer
            if start < 1 or len(tokens) != len(values):
                return None
            spelled = "".join(tokens[start:stop]).replace(end, "")
            if spelled.strip() != option.strip() or any(v is None for v in values[start:stop]):
                return None
            scores.append(float(sum(values[start:stop])))
        return scores

    def _next_token(self, text: str, attempt: int) -> Alternatives | None:
        body = {
            "model": self.model,
            "prompt": text,
            "max_tokens": 1,
            "temperature": 0.0,
            "logprobs": TOP_LOGPROBS,
            "seed": attempt,
        }
        if attempt:
            # top_k and min_p are vLLM / llama.cpp extensions; both cut the candidates before temperature.
            body.update(temperature=HOT_TEMPERATURE, top_p=1.0, top_k=100, min_p=0.0)
        choice = _first_choice(_json(self._completions(body, stream=False)))
        alternatives = _alternatives(choice.get("logprobs") or {})
        if alternatives:
            return alternatives
        if not choice.get("text"):
            return None  # it generated an end token, which llama.cpp reports no log-probs for
        raise BackendError("the server generated a token but listed no log-probs for it (logprobs unsupported?)")


def _json(response: httpx.Response) -> dict:
    try:
        return response.json()
    except json.JSONDecodeError as exc:
        raise BackendError(f"the server answered with something that is not JSON: {response.text[:200]!r}") from exc


def _alternatives(logprobs: dict) -> Alternatives:
    """The first position's top tokens, best first, from either shape servers use for /v1/completions."""
    content = logprobs.get("content")
    if content:  # llama.cpp's llama-server: the chat completions shape
        return [(str(t["token"]), float(t["logprob"])) for t in content[0].get("top_logprobs") or []]
    tops = logprobs.get("top_logprobs") or []
    if not tops or not tops[0]:
        return []
    listed = [(str(t), float(lp)) for t, lp in tops[0].items()]  # OpenAI's legacy {token text: log-prob}
    empty = [i for i, (t, _) in enumerate(listed) if t == ""]
    if empty:
        # llama-cpp-python prints every control token as "", so several collapse into one key that keeps the
        # first one's rank (its place in the dict) but the last one's, lower, value. When that shows (the
        # value is below the key after it), the first one's log-prob lies under the key before it and under
        # the mass the other keys leave: take the smaller of the two, an upper bound like any miss.
        i = empty[0]
        value = listed[i][1]
        if i + 1 < len(listed) and value < listed[i + 1][1]:
            rest = 1.0 - sum(math.exp(lp) for t, lp in listed if t != "")
            bounds = [listed[i - 1][1] if i else 0.0] + ([math.log(rest)] if rest > 1e-12 else [])
            listed[i] = ("", min(bounds))
    return sorted(listed, key=lambda item: -item[1])


def _first_choice(body: dict) -> dict:
    choices = body.get("choices") or []
    if not choices:
        raise BackendError(f"the server's reply has no choices: {str(body)[:200]}")
    return choices[0]
