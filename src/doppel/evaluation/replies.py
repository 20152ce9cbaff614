"""Many greedy replies at once, for evaluation.

The scorecard asks the twin and the base model the same few dozen prompts.
One prompt at a time leaves most of a CPU's (or GPU's) throughput unused, so
prompts of similar length are generated together, left-padded so every row
ends at the same position and the next token of each is read from the last
column. Decoding is greedy with the same anti-looping settings as
``LocalTwin.generate``, so a scorecard reply is what a user of the twin at
temperature 0 gets, and the same inputs give the same replies.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from doppel.inference.anti_loop import reply_processors
from doppel.inference.prompting import Prompter


@dataclass
class Replies:
    texts: list[str]
    new_tokens: int
    seconds: float

    @property
    def tokens_per_second(self) -> float:
        return self.new_tokens / self.seconds if self.seconds > 0 else 0.0


@torch.no_grad()
def generate_replies(
    model,
    prompter: Prompter,
    conversations: Sequence[Sequence[dict[str, str]]],
    *,
    max_new_tokens: int = 96,
    batch_size: int = 32,
    on_batch: Callable[[int], None] | None = None,
    prefixes: Sequence[str] | None = None,
    anti_loop: bool = True,
) -> Replies:
    """One greedy reply per conversation, in the given order. ``prefixes``: text the reply is made to start
    with (not part of the returned text), for asking the model to continue something."""
    tokenizer = prompter.tokenizer
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    end_ids = {tokenizer.eos_token_id}
    end_of_turn = tokenizer.convert_tokens_to_ids(prompter.end_of_turn)
    if isinstance(end_of_turn, int) and end_of_turn != tokenizer.unk_token_id:
        end_ids.add(end_of_turn)
    starts = prefixes if prefixes is not None else [""] * len(conversations)
    encoded = [prompter.encode(prompter.render(c) + start) for c, start in zip(conversations, starts, strict=True)]
    # Similar lengths together: less padding, and the order is a pure function of the inputs.
    order = sorted(range(len(encoded)), key=lambda i: (len(encoded[i]), i))
    device = next(model.parameters()).device
    texts: list[str] = [""] * len(encoded)
    new_tokens = 0
    started = time.perf_counter()
    was_training = model.training
    model.eval()
    try:
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            width = max(len(encoded[i]) for i in rows)
            ids = torch.full((len(rows), width), pad, dtype=torch.long)
            mask = torch.zeros((len(rows), width), dtype=torch.long)
            for r, i in enumerate(rows):
                ids[r, width - len(encoded[i]) :] = torch.tensor(encoded[i])
                mask[r, width - len(encoded[i]) :] = 1
            out = model.generate(
                input_ids=ids.to(device),
                attention_mask=mask.to(device),
                max_new_tokens=max_new_tokens,
                do_sample=False,
                logits_processor=reply_processors(width) if anti_loop else None,
                pad_token_id=pad,
                eos_token_id=sorted(end_ids),
            )
            for r, i in enumerate(rows):
                generated = out[r, width:].tolist()
                cut = next((k for k, t in enumerate(generated) if t in end_ids), len(generated))
                new_tokens += cut
                texts[i] = tokenizer.decode(generated[:cut], skip_special_tokens=True).strip()
            if on_batch is not None:
                on_batch(len(rows))
    finally:
        model.train(was_training)
    return Replies(texts=texts, new_tokens=new_tokens, seconds=time.perf_counter() - started)
