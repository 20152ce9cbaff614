"""The default backend: the base model plus the version's LoRA adapter, in this process (CPU or GPU)."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import nullcontext

import torch

from doppel.config import Settings, TwinConfig
from doppel.inference.backend import Generation, Messages, Sampling
from doppel.inference.backends.common import twin_prompter
from doppel.inference.local import LocalTwin
from doppel.inference.prompting import Prompter
from doppel.registry import Version
from doppel.training.base_models import resolve_base_model
from doppel.training.lora import load_base


class TransformersBackend:
    kind = "transformers"
    scores_base = True  # PEFT switches the adapter off; a bare base model is its own base

    def __init__(self, local: LocalTwin, prompter: Prompter):
        self.local = local
        self.prompter = prompter
        self.version = local.version.name if local.version is not None else None

    @classmethod
    def open(cls, settings: Settings, twin: TwinConfig, version: Version | None) -> TransformersBackend:
        base = resolve_base_model(twin.base_model, settings.home)
        if version is None:
            local = LocalTwin(load_base(base), None)
            prompter = twin_prompter(settings, twin, None)
            local.tokenizer = prompter.tokenizer
        else:
            local = LocalTwin.from_version(base, version)
            prompter = twin_prompter(settings, twin, version, local.tokenizer)
        return cls(local, prompter)

    @property
    def device(self) -> torch.device:
        return next(self.local.model.parameters()).device

    def chat(self, messages: Messages, sampling: Sampling) -> Generation:
        return self.local.generate(
            list(messages),
            max_new_tokens=sampling.max_tokens,
            temperature=sampling.temperature,
            seed=sampling.seed,
            stop=sampling.stop,
        )

    def stream(self, messages: Messages, sampling: Sampling) -> Iterator[str | Generation]:
        from transformers import TextIteratorStreamer

        streamer = TextIteratorStreamer(self.local.tokenizer, skip_prompt=True, skip_special_tokens=True, timeout=600)
        result: dict[str, Generation] = {}
        failure: list[BaseException] = []

        def run():
            try:
                result["g"] = self.local.generate(
                    list(messages),
                    max_new_tokens=sampling.max_tokens,
                    temperature=sampling.temperature,
                    seed=sampling.seed,
                    stop=sampling.stop,
                    streamer=streamer,
                )
            except BaseException as exc:  # surfaced to the reader below
                failure.append(exc)
                streamer.end()

        worker = threading.Thread(target=run, name="doppel-generate", daemon=True)
        worker.start()
        first = True
        for piece in streamer:
            if first:
                piece, first = piece.lstrip(), False  # match generate(), which strips the reply
            if piece:
                yield piece
        worker.join()
        if failure:
            raise failure[0]
        yield result["g"]

    def score(self, messages: Messages, options: Sequence[str]) -> list[float]:
        """All options in one batched forward pass: prompt + option + end of turn, right-padded."""
        return self._score(messages, options, base=False)

    def score_base(self, messages: Messages, options: Sequence[str]) -> list[float]:
        return self._score(messages, options, base=True)

    @torch.no_grad()
    def _score(self, messages: Messages, options: Sequence[str], *, base: bool) -> list[float]:
        prompt_ids = self.prompter.encode(self.prompter.render(messages))
        answers = [self.prompter.encode(self.prompter.answer_text(o)) for o in options]
        rows = [prompt_ids + a for a in answers]
        width = max(len(r) for r in rows)
        pad = self.local.tokenizer.pad_token_id or 0
        ids = torch.full((len(rows), width), pad, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, row in enumerate(rows):
            ids[i, : len(row)] = torch.tensor(row)
            mask[i, : len(row)] = 1
        # The lock spans the adapter switch too: no other request may run while the adapter is off.
        with self.local.lock, self.local.base_model_only() if base else nullcontext():
            logits = self.local.model(input_ids=ids.to(self.device), attention_mask=mask.to(self.device)).logits
        logprobs = torch.log_softmax(logits.float(), dim=-1)
        scores = []
        start = len(prompt_ids)
        for i, answer in enumerate(answers):
            # The token at position t is predicted by the logits at t - 1.
            positions = torch.arange(start - 1, start - 1 + len(answer), device=logprobs.device)
            targets = torch.tensor(answer, device=logprobs.device)
            scores.append(float(logprobs[i, positions, targets].sum()))
        return scores

    def close(self) -> None:
        self.local.model = None
