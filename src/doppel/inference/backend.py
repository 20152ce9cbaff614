"""What every inference backend answers: chat, stream and score options.

The HTTP API, the Python ``Twin`` and the CLI talk only to this protocol, so a
twin served in-process by transformers, from a GGUF by llama.cpp, by an Ollama
host or by any OpenAI-compatible server behaves the same to its callers.

Messages are chat turns (``{"role", "content"}``) already cut to fit the
context window; the prompt template is the twin's tokenizer's, and backends
that take raw text (llama.cpp, Ollama ``raw``, ``/v1/completions``) receive it
rendered by :class:`doppel.inference.prompting.Prompter` so every backend sees
the same tokens.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

Messages = Sequence[dict[str, str]]


class BackendError(RuntimeError):
    """The backend could not answer (server down, model missing, bad reply); the message says which."""


@dataclass
class Generation:
    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str = "stop"  # "stop" | "length"


GREEDY_BELOW = 1e-3


@dataclass
class Sampling:
    """How one reply is decoded: every backend, the Modelfile and the scorecard read their settings here."""

    max_tokens: int = 256
    temperature: float = 0.0  # 0: greedy
    top_p: float = 0.9
    top_k: int = 50  # transformers' default when sampling
    seed: int = 0
    stop: tuple[str, ...] = ()
    # Anti-looping (see anti_loop.py): a mild penalty on tokens the reply already used, and, greedy and
    # in-process only, a ban on repeating a 3-token run of the reply.
    repetition_penalty: float = 1.1
    no_repeat_ngram: int = 3

    def __post_init__(self):
        # Logits divided by a temperature this small overflow to inf and sampling fails on NaN
        # probabilities; anything below it is greedy decoding in effect, so it is made exactly that.
        if self.temperature < GREEDY_BELOW:
            self.temperature = 0.0


@runtime_checkable
class Backend(Protocol):
    kind: str  # "transformers" | "llamacpp" | "ollama" | "openai": what serves, never the config's "auto"
    version: str | None  # the registry version it serves (None: the bare base model)
    scores_base: bool  # whether score_base works: the adapter can be switched off (pmi decision scoring)

    def chat(self, messages: Messages, sampling: Sampling) -> Generation:
        """The twin's whole reply."""

    def stream(self, messages: Messages, sampling: Sampling) -> Iterator[str | Generation]:
        """Text pieces as they are produced, then one final :class:`Generation` with the whole reply and counts."""

    def score(self, messages: Messages, options: Sequence[str]) -> list[float]:
        """Log-likelihood of each option being the twin's complete reply (its tokens, then end of turn)."""

    def score_base(self, messages: Messages, options: Sequence[str]) -> list[float]:
        """As :meth:`score`, by the base model alone (the adapter off); only where ``scores_base``."""

    def close(self) -> None:
        """Free the model or connections."""
