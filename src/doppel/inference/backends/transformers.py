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
        """Each option's summed log-probability as the reply: the prompt read once, the options in one batch."""
        return self._score(messages, options, base=False)

    def score_base(self, messages: Messages, options: Sequence[str]) -> list[float]:
        return self._score(messages, options, base=True)

    @torch.no_grad()
    def _score(self, messages: Messages, options: Sequence[str], *, base: bool) -> list[float]:
        prompt_ids = self.prompter.encode(self.prompter.render(messages))
        answers = [self.prompter.encode(self.prompter.answer_text(o)) for o in options]
        if not answers:
            return []
        # The prompt but its last token is read once, as one row, and its KV cache is copied to every option's
        # row. Each row then holds the prompt's last token (its logits predict the option's first token) and the
        # option but its last token, right-padded: a padded position comes after every real one, so no option
        # attends to padding, and only these few positions reach the LM head (not prompt x options of them).
        head = prompt_ids[:-1]
        rows = [prompt_ids[-1:] + a[:-1] for a in answers]
        width = max(len(r) for r in rows)
        pad = self.local.tokenizer.pad_token_id or 0
        ids = torch.full((len(rows), width), pad, dtype=torch.long)
        mask = torch.zeros((len(rows), len(head) + width), dtype=torch.long)
        mask[:, : len(head)] = 1
        for i, row in enumerate(rows):
            ids[i, : len(row)] = torch.tensor(row)
            mask[i, len(head) : len(head) + len(row)] = 1
        device = self.device
        # The lock spans the adapter switch too: no other request may run while the adapter is off.
        with self.local.lock, self.local.base_model_only() if base else nullcontext():
            model = self.local.model
            cache = None
            if head:
                read = model(input_ids=torch.tensor([head], device=device), use_cache=True, logits_to_keep=1)
                cache = read.past_key_values
                cache.batch_repeat_interleave(len(rows))
            logits = model(
                input_ids=ids.to(device),
                attention_mask=mask.to(device),
                past_key_values=cache,
                use_cache=cache is not None,
            ).logits
        logprobs = torch.log_softmax(logits.float(), dim=-1)
        return [
            float(
                logprobs[i, torch.arange(len(a), device=logprobs.device), torch.tensor(a, device=logprobs.device)].sum()
            )
            for i, a in enumerate(answers)
        ]

    def close(self) -> None:
        self.local.model = None
