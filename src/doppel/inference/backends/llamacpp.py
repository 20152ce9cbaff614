"""The twin served in-process by llama.cpp: the packaged base GGUF plus the version's LoRA, or a merged GGUF.

Prompts are rendered by the twin's own chat template (:class:`Prompter`) and
tokenized by llama.cpp with special tokens parsed, so the model sees the same
tokens as under transformers. llama.cpp has no repeated-n-gram ban; greedy
replies use the same repetition penalty (1.1) as the transformers backend.
"""

from __future__ import annotations

import codecs
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from doppel.config import DEFAULT_BASE_MODEL, Settings, TwinConfig
from doppel.inference.backend import BackendError, Generation, Messages, Sampling
from doppel.inference.backends.common import twin_prompter
from doppel.inference.backends.llamacpp_scoring import ScoringContext, decode_logprobs, shared_prefix
from doppel.inference.prompting import Prompter
from doppel.registry import Version

MAX_CONTEXT = 8192  # the KV cache is allocated up front: cap it for models with huge windows


_LOAD_LOCK = threading.Lock()


def cpu_has_amx() -> bool:
    try:
        return "amx_int8" in Path("/proc/cpuinfo").read_text()
    except OSError:
        return False


def repacking_wanted() -> bool:
    """Whether llama.cpp may repack weights for this CPU (``DOPPEL_LLAMACPP_REPACK=1``/``0`` decides, else not
    on AMX)."""
    setting = os.environ.get("DOPPEL_LLAMACPP_REPACK", "").strip()
    return setting == "1" if setting in ("0", "1") else not cpu_has_amx()


@contextmanager
def _repacking_off() -> Iterator[None]:
    # The wrapper has no argument for it: its default model parameters are swapped while a model loads, under
    # a lock so that two loads do not race over the swap.
    import llama_cpp.llama as wrapper

    lib = wrapper.llama_cpp
    with _LOAD_LOCK:
        original = lib.llama_model_default_params

        def without_repacking():
            params = original()
            params.use_extra_bufts = False
            return params

        lib.llama_model_default_params = without_repacking
        try:
            yield
        finally:
            lib.llama_model_default_params = original


def load_llama(model_path: str, **kwargs):
    """A ``llama_cpp.Llama`` for ``model_path``; on CPUs with AMX, without llama.cpp's weight repacking.

    llama.cpp repacks weights into "extra buffer types" for the CPU it finds. On AMX machines (the Xeons the
    tests run on, and many servers) that path segfaults mid-decode in the llama-cpp-python build we pin, so it
    is switched off there; see :func:`repacking_wanted` to override.
    """
    import llama_cpp.llama as wrapper

    if repacking_wanted():
        return wrapper.Llama(model_path=model_path, **kwargs)
    with _repacking_off():
        return wrapper.Llama(model_path=model_path, **kwargs)


def run_openai_server(argv: Sequence[str]) -> None:
    """``python -m llama_cpp.server`` with ``argv``, with the same repacking rule as :func:`load_llama`."""
    import runpy
    import sys

    sys.argv = ["llama_cpp.server", *argv]
    if repacking_wanted():
        runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)
        return
    with _repacking_off():
        runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)


class LlamaCppBackend:
    kind = "llamacpp"

    def __init__(self, llm, prompter: Prompter, version: str | None, *, merged: bool = False):
        import llama_cpp

        self.llm = llm
        self.prompter = prompter
        self.version = version
        # The base model's scores: the weights without the separate adapter (a scoring context of their own),
        # or the model itself when it is the bare base; a merged GGUF has the adapter baked in: no base at hand.
        self._adapter = getattr(llm, "_lora_adapter", None)
        self.scores_base = self._adapter is not None or (version is None and not merged)
        # One request at a time: a llama.cpp context (KV cache, sampler) is single-threaded state.
        self.lock = threading.Lock()
        self._vocab = llama_cpp.llama_model_get_vocab(llm.model)
        # Option scoring's own contexts, by "is it the base model's" (see llamacpp_scoring).
        self._scorers: dict[bool, ScoringContext] = {}

    @classmethod
    def open(cls, settings: Settings, twin: TwinConfig, version: Version | None) -> LlamaCppBackend:
        lora: Path | None = None
        if twin.inference.gguf is not None:
            # A merged export already holds the adapter.
            model = Path(twin.inference.gguf).expanduser()
            if not model.is_file():
                raise BackendError(f"inference.gguf {model} does not exist")
        elif twin.base_model.name == DEFAULT_BASE_MODEL:
            from doppel.training.base_models import smollm2_gguf
            from doppel.training.lora_gguf import AdapterExportError, adapter_gguf

            model = smollm2_gguf()
            if version is not None:
                try:
                    lora = adapter_gguf(version)
                except AdapterExportError as exc:
                    raise BackendError(f"cannot serve {version.twin} {version.name} with llama.cpp: {exc}") from exc
        else:
            raise BackendError(
                f"the llamacpp backend serves base model {DEFAULT_BASE_MODEL!r} plus the version's adapter; for "
                f"{twin.base_model.name!r} export a merged GGUF and set the twin's inference.gguf to its path"
            )
        prompter = twin_prompter(settings, twin, version)
        n_ctx = min(prompter.context_length, MAX_CONTEXT)
        threads = twin.inference.threads or os.cpu_count() or 1
        try:
            llm = load_llama(
                str(model),
                lora_path=str(lora) if lora is not None else None,
                n_ctx=n_ctx,
                n_threads=threads,
                n_threads_batch=threads,
                # Penalize repeats across the whole reply, as transformers does (it also counts the prompt).
                last_n_tokens_size=n_ctx,
                verbose=False,
            )
        except (ValueError, RuntimeError) as exc:
            extra = f" with adapter {lora}" if lora is not None else ""
            raise BackendError(f"llama.cpp cannot load {model}{extra}: {exc}") from exc
        return cls(llm, prompter, version.name if version is not None else None, merged=twin.inference.gguf is not None)

    def encode(self, text: str) -> list[int]:
        return self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)

    def chat(self, messages: Messages, sampling: Sampling) -> Generation:
        for item in self._generate(messages, sampling):
            if isinstance(item, Generation):
                return item
        raise AssertionError("generation ended without a result")

    def stream(self, messages: Messages, sampling: Sampling) -> Iterator[str | Generation]:
        return self._generate(messages, sampling)

    def _generate(self, messages: Messages, sampling: Sampling) -> Iterator[str | Generation]:
        import llama_cpp

        prompt = self.encode(self.prompter.render(messages))
        room = self.llm.n_ctx() - len(prompt)
        if room <= 0:
            raise BackendError(f"the prompt is {len(prompt)} tokens, the context window {self.llm.n_ctx()}")
        limit = min(sampling.max_tokens, room)
        greedy = sampling.temperature <= 0
        stops = [s for s in sampling.stop if s]
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        text, sent, started, count, finish = "", 0, False, 0, "length"
        with self.lock:
            self.llm.set_seed(sampling.seed)
            tokens = self.llm.generate(
                prompt,
                temp=0.0 if greedy else sampling.temperature,
                top_k=sampling.top_k,
                top_p=1.0 if greedy else sampling.top_p,
                min_p=0.0,
                typical_p=1.0,
                repeat_penalty=sampling.repetition_penalty,
            )
            try:
                for token in tokens:
                    count += 1  # the end-of-turn token counts, as in transformers' reply length
                    if llama_cpp.llama_vocab_is_eog(self._vocab, token):
                        finish = "stop"
                        break
                    text += decoder.decode(self.llm.detokenize([token]))
                    cut = _first_stop(text, stops)
                    if cut is not None:
                        text, finish = text[:cut], "stop"
                        break
                    if count >= limit:
                        break
                    # Hold back a tail that may be the start of a stop string.
                    safe = len(text) - _stop_prefix(text, stops)
                    piece = text[sent:safe] if started else text[sent:safe].lstrip()  # the reply is stripped
                    sent = max(sent, safe)
                    if piece:
                        started = True
                        yield piece
            finally:
                tokens.close()
        text += decoder.decode(b"", final=True)
        rest = text[sent:] if started else text[sent:].lstrip()
        if rest.strip():
            yield rest
        yield Generation(text=text.strip(), prompt_tokens=len(prompt), completion_tokens=count, finish_reason=finish)

    def score(self, messages: Messages, options: Sequence[str]) -> list[float]:
        """The twin's scores: see :mod:`doppel.inference.backends.llamacpp_scoring` (its own context, the
        prompt read once and only past what the previous prompt shared, each option decoded after it)."""
        with self.lock:
            return self._scoring(base=False).score(*self._scoring_tokens(messages, options))

    def score_base(self, messages: Messages, options: Sequence[str]) -> list[float]:
        if not self.scores_base:
            raise BackendError("this GGUF has the adapter merged in: the base model's scores are not available")
        with self.lock:
            return self._scoring(base=True).score(*self._scoring_tokens(messages, options))

    def _scoring_tokens(self, messages: Messages, options: Sequence[str]) -> tuple[list[int], list[list[int]]]:
        prompt = self.encode(self.prompter.render(messages))
        return prompt, [self.encode(self.prompter.answer_text(o)) for o in options]

    def _scoring(self, *, base: bool) -> ScoringContext:
        """The scoring context of one side, made on first use (the bare base model has one for both)."""
        key = base or self._adapter is None
        if key not in self._scorers:
            adapter = None if key else self._adapter
            self._scorers[key] = ScoringContext(self.llm, adapter, scale=self.llm.lora_scale)
        return self._scorers[key]

    def logprobs(self, messages: Messages, continuation: str = "") -> np.ndarray:
        """Log-probabilities over the vocabulary after the prompt and after each token of ``continuation``.

        Row ``i`` is the distribution of continuation token ``i`` (the last row, of what follows it):
        what a backend comparison or a calibration check needs.
        """
        prompt = self.encode(self.prompter.render(messages))
        extra = self.encode(continuation) if continuation else []
        self._check_room(len(prompt) + len(extra))
        with self.lock, self._primed(prompt) as keep:
            return np.concatenate(list(self._decode_logprobs([prompt[-1]] + extra, keep)))

    def _check_room(self, tokens: int) -> None:
        if tokens > self.llm.n_ctx():
            raise BackendError(f"{tokens} tokens exceed the context window of {self.llm.n_ctx()}")

    @contextmanager
    def _primed(self, prompt: list[int]) -> Iterator[int]:
        """The KV cache holding all of ``prompt`` but its last token, reusing what is cached; yields that length."""
        llm = self.llm
        keep = len(prompt) - 1
        same = shared_prefix(llm.input_ids[: llm.n_tokens], prompt[:keep])
        llm.n_tokens = same
        try:
            llm.eval(prompt[same:keep])  # first drops whatever is cached past `same`
            yield keep
        finally:
            # Only the prompt prefix stays claimed (the next eval drops our options from the KV cache);
            # reset() also makes the next generate() decode afresh, not sample from our batch's logits.
            cached = min(llm.n_tokens, keep)
            llm.reset()
            llm.n_tokens = cached

    def _decode_logprobs(self, inputs: list[int], start: int) -> Iterator[np.ndarray]:
        """Decode ``inputs`` at positions ``start``.. (dropping anything cached there), keeping every logit;
        yields their log-softmax, one batch at a time."""
        import llama_cpp

        llm = self.llm
        llama_cpp.llama_memory_seq_rm(llama_cpp.llama_get_memory(llm.ctx), -1, start, -1)
        yield from decode_logprobs(llm.ctx, inputs, start, llm.n_batch, llm.n_vocab())

    def forget(self) -> None:
        """Forget every cached prompt, the generation context's and the scoring contexts'."""
        with self.lock:
            self.llm.reset()
            for scorer in self._scorers.values():
                scorer.forget()

    def close(self) -> None:
        with self.lock:
            for scorer in self._scorers.values():
                scorer.close()
            self._scorers.clear()
            if self.llm is not None:
                self.llm.close()
                self.llm = None


def _first_stop(text: str, stops: list[str]) -> int | None:
    found = [i for i in (text.find(s) for s in stops) if i >= 0]
    return min(found) if found else None


def _stop_prefix(text: str, stops: list[str]) -> int:
    """Length of the longest tail of ``text`` that begins some stop string (it may yet complete it)."""
    best = 0
    for stop in stops:
        for n in range(min(len(stop) - 1, len(text)), best, -1):
            if text.endswith(stop[:n]):
                best = n
                break
    return best
