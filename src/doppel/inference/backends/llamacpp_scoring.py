"""Option scoring on llama.cpp: a context of its own per side (the twin, the base model), each keeping its prompt.

``decide`` scores every option as the reply to one prompt, twice under ``pmi`` scoring: with the adapter (the
situation) and without it (the neutral question). Doing that on the generation context meant switching the
adapter off and on, which threw its KV cache away every call. Here each side has its own ``llama_context`` on
the same loaded weights (the twin's with the adapter applied, the base's without), so neither is reset by the
other, and each keeps the prompt it read last: the next prompt only reads what follows the part they share
(the persona's system prompt, at least). The prompt is read once; each option is decoded after it and dropped.

Options are decoded one at a time, not together in one batch as separate sequences. Measured on a 2-core
CPU (SmolLM2-135M, Q4_1): decoding costs about 5 ms per token once a batch holds 8 or more, so one batch of
10 options saves little; and llama.cpp's CPU matrix products round a row by its place in a block of rows,
so a batched option's score moved with the options before it (up to 0.9 nats) unless each was padded to
that block, which cost more than it saved. One at a time, a score is the same whatever the order.
"""

from __future__ import annotations

import ctypes
from collections.abc import Iterator, Sequence

import numpy as np

from doppel.inference.backend import BackendError


class ScoringContext:
    """A llama.cpp context on ``llm``'s weights, with ``adapter`` (a llama_adapter_lora_p) applied or none."""

    def __init__(self, llm, adapter=None, *, scale: float = 1.0):
        import llama_cpp

        params = llama_cpp.llama_context_params()
        ctypes.memmove(ctypes.byref(params), ctypes.byref(llm.context_params), ctypes.sizeof(params))
        self.ctx = llama_cpp.llama_init_from_model(llm.model, params)
        if self.ctx is None:
            raise BackendError("llama.cpp could not create a scoring context")
        if adapter is not None:
            adapters = (llama_cpp.llama_adapter_lora_p_ctypes * 1)(adapter)
            scales = (ctypes.c_float * 1)(scale)
            if llama_cpp.llama_set_adapters_lora(self.ctx, adapters, 1, scales):
                self.close()
                raise BackendError("llama.cpp could not apply the adapter to the scoring context")
        self.memory = llama_cpp.llama_get_memory(self.ctx)
        self.n_ctx = llama_cpp.llama_n_ctx(self.ctx)
        self.n_batch = llama_cpp.llama_n_batch(self.ctx)
        self.n_vocab = llm.n_vocab()
        self.cached: list[int] = []  # the prompt tokens the KV cache holds, position by position
        self.read = 0  # prompt tokens decoded so far (what the prefix reuse saves shows here)

    def score(self, prompt: list[int], answers: Sequence[list[int]]) -> list[float]:
        """Each answer's summed log-probability as the continuation of ``prompt``."""
        import llama_cpp

        if not prompt:
            raise BackendError("an empty prompt cannot be scored")
        keep = len(prompt) - 1
        longest = max((len(a) for a in answers), default=0)
        if keep + longest > self.n_ctx:
            raise BackendError(f"{keep + longest} tokens exceed the context window of {self.n_ctx}")
        self._prime(prompt[:keep])
        scores = []
        for answer in answers:
            # The prompt's last token is decoded with each option: its logits predict the option's first token.
            total, done = 0.0, 0
            try:
                for rows in decode_logprobs(self.ctx, [prompt[-1]] + answer[:-1], keep, self.n_batch, self.n_vocab):
                    total += float(rows[np.arange(len(rows)), answer[done : done + len(rows)]].sum())
                    done += len(rows)
            finally:
                llama_cpp.llama_memory_seq_rm(self.memory, 0, keep, -1)  # the prompt stays, the option goes
            scores.append(total)
        return scores

    def _prime(self, prefix: list[int]) -> None:
        """The KV cache holds exactly ``prefix``, reading only what the cached tokens do not already cover."""
        import llama_cpp

        same = shared_prefix(self.cached, prefix)
        llama_cpp.llama_memory_seq_rm(self.memory, 0, same, -1)
        self.cached = self.cached[:same]
        for lo in range(same, len(prefix), self.n_batch):
            chunk = prefix[lo : lo + self.n_batch]
            decode(self.ctx, [(t, lo + i, False) for i, t in enumerate(chunk)], self.n_vocab)
            # Recorded as read chunk by chunk: a failure leaves `cached` true to what the memory holds.
            self.cached.extend(chunk)
            self.read += len(chunk)

    def forget(self) -> None:
        """Drop every cached token: the next prompt is read from its start (benchmarks measure that)."""
        import llama_cpp

        llama_cpp.llama_memory_seq_rm(self.memory, 0, -1, -1)
        self.cached = []

    def close(self) -> None:
        import llama_cpp

        if self.ctx is not None:
            llama_cpp.llama_free(self.ctx)
            self.ctx = None


def shared_prefix(cached: Sequence[int], prompt: Sequence[int]) -> int:
    """How many leading tokens of ``prompt`` a KV cache holding ``cached`` already has."""
    same, limit = 0, min(len(cached), len(prompt))
    while same < limit and cached[same] == prompt[same]:
        same += 1
    return same


def decode(ctx, entries: list[tuple[int, int, bool]], n_vocab: int) -> np.ndarray:
    """One llama_decode on sequence 0 of (token, position, wants logits) entries; the logits asked for, in order."""
    import llama_cpp

    batch = llama_cpp.llama_batch_init(len(entries), 0, 1)
    try:
        for i, (token, pos, wants) in enumerate(entries):
            batch.token[i] = token
            batch.pos[i] = pos
            batch.n_seq_id[i] = 1
            batch.seq_id[i][0] = 0
            batch.logits[i] = wants
        batch.n_tokens = len(entries)
        if llama_cpp.llama_decode(ctx, batch) != 0:
            raise BackendError("llama.cpp failed to decode")
        wanted = sum(1 for e in entries if e[2])
        if not wanted:
            return np.empty((0, n_vocab))
        return np.ctypeslib.as_array(llama_cpp.llama_get_logits(ctx), shape=(wanted, n_vocab)).astype(np.float64)
    finally:
        llama_cpp.llama_batch_free(batch)


def decode_logprobs(ctx, inputs: list[int], start: int, n_batch: int, n_vocab: int) -> Iterator[np.ndarray]:
    """Decode ``inputs`` at positions ``start``.. on sequence 0, keeping every logit; yields their log-softmax,
    one batch of at most ``n_batch`` at a time."""
    for lo in range(0, len(inputs), n_batch):
        chunk = inputs[lo : lo + n_batch]
        yield log_softmax(decode(ctx, [(t, start + lo + i, True) for i, t in enumerate(chunk)], n_vocab))


def log_softmax(rows: np.ndarray) -> np.ndarray:
    top = rows.max(axis=1, keepdims=True)
    return rows - top - np.log(np.exp(rows - top).sum(axis=1, keepdims=True))
