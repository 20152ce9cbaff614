"""The twin served by Ollama host(s), over Ollama's HTTP API (``/api/generate`` in raw mode).

The prompt is rendered here with the twin's own chat template and sent with
``raw: true``, so Ollama's Modelfile template never touches it and the model
sees the tokens it was trained on.
"""

from __future__ import annotations

import json
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

DEFAULT_HOST = "http://127.0.0.1:11434"


class OllamaBackend(RemoteBackend):
    kind = "ollama"
    default_url = DEFAULT_HOST

    # -- requests ---------------------------------------------------------------------------------------------

    def _options(self, sampling: Sampling) -> dict:
        return {
            "temperature": float(sampling.temperature),
            "top_p": float(sampling.top_p),
            "seed": int(sampling.seed),
            "num_predict": int(sampling.max_tokens),
            # The end of turn as text too, in case the host's GGUF does not treat it as end of generation.
            "stop": list(dict.fromkeys([*sampling.stop, self.prompter.end_of_turn])),
            "repeat_penalty": sampling.repetition_penalty,
        }

    def _generate(self, body: dict, stream: bool) -> httpx.Response:
        """POST /api/generate on the first host that has the model; a miss everywhere names the fix."""
        return self.hosts.post_to_model(
            "/api/generate",
            {"model": self.model, **body, "stream": stream},
            stream=stream,
            missing=lambda first: (
                f"model {self.model!r} is not on any Ollama host ({', '.join(self.hosts.urls)}): {first}. Create it "
                f"with `doppel export` and `doppel distribute` (or `ollama pull {self.model}` if it is published), "
                "or set twin.inference.model to a model the host has."
            ),
            refused="Ollama refused the request",
        )

    # -- Backend ----------------------------------------------------------------------------------------------

    def chat(self, messages: Messages, sampling: Sampling) -> Generation:
        prompt = self.prompter.render(messages)
        response = self._generate({"prompt": prompt, "raw": True, "options": self._options(sampling)}, stream=False)
        try:
            body = response.json()
        except json.JSONDecodeError as exc:
            raise BackendError(f"Ollama answered with something that is not JSON: {response.text[:200]!r}") from exc
        if "error" in body:
            raise BackendError(f"Ollama failed: {body['error']}")
        return self._generation(body.get("response", "").strip(), body, prompt)

    def stream(self, messages: Messages, sampling: Sampling) -> Iterator[str | Generation]:
        prompt = self.prompter.render(messages)
        response = self._generate({"prompt": prompt, "raw": True, "options": self._options(sampling)}, stream=True)
        text, shown, final = "", 0, None
        try:
            for line in response.iter_lines():
                if not line.strip():
                    continue
                chunk = json.loads(line)
                if "error" in chunk:
                    raise BackendError(f"Ollama failed mid-reply: {chunk['error']}")
                text += chunk.get("response", "")
                # Show the reply stripped, as chat() returns it: hold back whitespace until text follows it.
                visible = text.strip()
                if len(visible) > shown:
                    yield visible[shown:]
                    shown = len(visible)
                if chunk.get("done"):
                    final = chunk
                    break
        except (httpx.HTTPError, json.JSONDecodeError) as exc:
            raise BackendError(f"the Ollama stream broke off: {exc}") from exc
        finally:
            response.close()
        if final is None:
            raise BackendError("the Ollama stream ended without its final (done) message")
        yield self._generation(text.strip(), final, prompt)

    def _generation(self, text: str, body: dict, prompt: str) -> Generation:
        prompt_tokens = body.get("prompt_eval_count") or len(self.prompter.encode(prompt))
        completion_tokens = body.get("eval_count") or len(self.prompter.encode(text))
        finish = "length" if body.get("done_reason") == "length" else "stop"
        return Generation(text, int(prompt_tokens), int(completion_tokens), finish)

    # The server holds one model; doppel cannot ask it for the base model's scores.
    scores_base = False

    def score_base(self, messages: Messages, options: Sequence[str]) -> list[float]:
        raise BackendError("Ollama serves the twin only: the base model's scores are not available")

    def score(self, messages: Messages, options: Sequence[str]) -> list[float]:
        return score_by_prefix_walk(self.prompter, messages, options, self._next_token)

    def _next_token(self, text: str, attempt: int) -> Alternatives | None:
        options: dict = {"num_predict": 1, "temperature": 0.0, "seed": attempt}
        if attempt:
            options.update(temperature=HOT_TEMPERATURE, top_k=100, top_p=1.0, min_p=0.0)
        body = {"prompt": text, "raw": True, "logprobs": True, "top_logprobs": TOP_LOGPROBS, "options": options}
        response = self._generate(body, stream=False)
        try:
            reply = response.json()
        except json.JSONDecodeError as exc:
            raise BackendError(f"Ollama answered with something that is not JSON: {response.text[:200]!r}") from exc
        entries = reply.get("logprobs") or []
        top = (entries[0].get("top_logprobs") or []) if entries else []
        if top:
            return [(str(t["token"]), float(t["logprob"])) for t in top]
        if not reply.get("response"):
            return None  # it generated an end token, which Ollama reports no log-probs for
        raise BackendError(
            "Ollama generated a token but listed no log-probs for it; scoring needs Ollama 0.12.11 or later"
        )
