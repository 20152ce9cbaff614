"""Many greedy replies at once, for evaluation.

The scorecard asks the twin and the base model the same few dozen prompts.
One prompt at a time leaves most of a CPU's (or GPU's) throughput unused, so
prompts of similar length are generated together, left-padded so every row
ends at the same position and the next token of each is read from the last
column. Decoding is greedy with the same anti-looping settings as
``LocalTwin.generate``, so a scorecard reply is what a user of the twin at
temperature 0 gets, and the same inputs give the same replies.

The decoding loop is our own rather than ``model.generate``, token for token
the same, for less work on a CPU: prompts go through the model in small groups
padded only to their own longest (one batch-wide width made every short prompt
pay for the longest, and the prompt pass was most of the time); the key/value
cache is allocated for the whole reply up front (transformers' dynamic cache
copies itself at every token, as costly as the step's matrix products); and a
row whose reply has ended leaves the batch.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from transformers.cache_utils import DynamicCache, DynamicLayer

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
    texts: list[str] = [""] * len(encoded)
    new_tokens = 0
    started = time.perf_counter()
    was_training = model.training
    model.eval()
    try:
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            replies = _greedy(model, [encoded[i] for i in rows], pad, max_new_tokens, end_ids, anti_loop)
            for i, generated in zip(rows, replies, strict=True):
                cut = next((k for k, t in enumerate(generated) if t in end_ids), len(generated))
                new_tokens += cut
                texts[i] = tokenizer.decode(generated[:cut], skip_special_tokens=True).strip()
            if on_batch is not None:
                on_batch(len(rows))
    finally:
        model.train(was_training)
    return Replies(texts=texts, new_tokens=new_tokens, seconds=time.perf_counter() - started)


# Prompts are prefilled in groups of this many rows, each padded only to its own longest prompt: one
# batch-wide width made every short prompt pay for the longest (the prompt pass was most of the time).
PREFILL_ROWS = 4


def _greedy(
    model, encoded: list[list[int]], pad: int, max_new_tokens: int, end_ids: set[int], anti_loop: bool
) -> list[list[int]]:
    """Greedy decoding of one batch of prompts (sorted by length); each row's tokens up to and including its
    end token (or ``max_new_tokens`` of them). A row that ends leaves the batch and the cache, so later steps
    cost only what the rows still writing need."""
    rows = len(encoded)
    out: list[list[int]] = [[] for _ in range(rows)]
    if max_new_tokens <= 0 or rows == 0:
        return out
    device = next(model.parameters()).device
    width = max(len(e) for e in encoded)
    ids, mask = _left_padded(encoded, width, pad, device)
    keywords = _forward_keywords(model)
    cache, logits = _prefill(model, encoded, pad, width, max_new_tokens, device, keywords)
    processors = reply_processors(width) if anti_loop else None
    live = list(range(rows))  # batch row -> the caller's row
    seqs, next_position = ids, mask.sum(dim=1)
    for n in range(max_new_tokens):
        # float32 logits as generate uses them, so the processors' penalties round the same way
        scores = logits.to(dtype=torch.float32)
        if processors is not None:
            scores = processors(seqs, scores)
        tokens = scores.argmax(dim=-1)
        picked = tokens.tolist()
        for row, token in zip(live, picked, strict=True):
            out[row].append(token)
        if n == max_new_tokens - 1:
            break
        writing = [r for r, token in enumerate(picked) if token not in end_ids]
        if not writing:
            break
        seqs = torch.cat([seqs, tokens[:, None]], dim=1)
        mask = torch.cat([mask, mask.new_ones((mask.shape[0], 1))], dim=1)
        if len(writing) < len(live):
            keep = torch.tensor(writing, device=device)
            cache.batch_select_indices(keep)
            seqs, mask, next_position, tokens = seqs[keep], mask[keep], next_position[keep], tokens[keep]
            live = [live[r] for r in writing]
        step = model(
            input_ids=tokens[:, None],
            attention_mask=mask,
            position_ids=next_position[:, None],
            use_cache=True,
            **{keywords["cache"]: cache},
        )
        logits = step.logits[:, -1, :]
        next_position = next_position + 1
    return out


def _left_padded(encoded: list[list[int]], width: int, pad: int, device) -> tuple[torch.Tensor, torch.Tensor]:
    ids = torch.full((len(encoded), width), pad, dtype=torch.long)
    mask = torch.zeros((len(encoded), width), dtype=torch.long)
    for r, tokens in enumerate(encoded):
        ids[r, width - len(tokens) :] = torch.tensor(tokens)
        mask[r, width - len(tokens) :] = 1
    return ids.to(device), mask.to(device)


def _prefill(model, encoded: list[list[int]], pad: int, width: int, max_new_tokens: int, device, keywords: dict):
    """The prompts' pass, in groups of ``PREFILL_ROWS``; returns a cache with room for every reply token (each
    row's keys and values right-aligned at ``width``, like one left-padded batch) and each row's last logits."""
    keep_last = {"logits_to_keep": 1} if keywords["logits_to_keep"] else {}
    keys: list[torch.Tensor] = []
    values: list[torch.Tensor] = []
    last_logits = []
    for start in range(0, len(encoded), PREFILL_ROWS):
        group = encoded[start : start + PREFILL_ROWS]
        group_width = max(len(e) for e in group)
        ids, mask = _left_padded(group, group_width, pad, device)
        # Positions count real tokens only, so a left-padded row sees the positions it would see alone.
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        cache = DynamicCache()
        step = model(
            input_ids=ids,
            attention_mask=mask,
            position_ids=positions,
            use_cache=True,
            **keep_last,
            **{keywords["cache"]: cache},
        )
        last_logits.append(step.logits[:, -1, :])
        for layer_index, layer in enumerate(cache.layers):
            if layer_index == len(keys):
                shape = (len(encoded), layer.keys.shape[1], width + max_new_tokens, layer.keys.shape[3])
                keys.append(layer.keys.new_zeros(shape))
                values.append(layer.values.new_zeros(shape[:3] + (layer.values.shape[3],)))
            rows = slice(start, start + len(group))
            keys[layer_index][rows, :, width - group_width : width] = layer.keys
            values[layer_index][rows, :, width - group_width : width] = layer.values
    roomy = DynamicCache()
    roomy.layers = [_RoomyLayer(k, v, width) for k, v in zip(keys, values, strict=True)]
    return roomy, torch.cat(last_logits)


class _RoomyLayer(DynamicLayer):
    """One layer's key/value cache in buffers allocated for the whole reply up front. Transformers' dynamic
    layer concatenates each new token onto a copy of everything cached, at every step, which cost as much as
    the decode step's matrix products on a CPU."""

    def __init__(self, keys: torch.Tensor, values: torch.Tensor, length: int) -> None:
        super().__init__()
        self.device, self.is_initialized = keys.device, True
        self._room, self._length = (keys, values), length
        self._show()

    def _show(self) -> None:
        self.keys = self._room[0][:, :, : self._length]
        self.values = self._room[1][:, :, : self._length]

    def update(self, key_states, value_states, *args, **kwargs):
        end = self._length + key_states.shape[-2]
        self._room[0][:, :, self._length : end] = key_states
        self._room[1][:, :, self._length : end] = value_states
        self._length = end
        self._show()
        return self.keys, self.values

    def batch_select_indices(self, indices: torch.Tensor) -> None:
        self._room = (self._room[0][indices], self._room[1][indices])
        self._show()


def _forward_keywords(model) -> dict:
    """What the model's forward is called with: ``cache`` or, before transformers 5 renamed it,
    ``past_key_values``; and whether it takes ``logits_to_keep`` (the prompt pass then computes the
    vocabulary's logits for the last position only, as ``generate`` does)."""
    import inspect

    inner = model.get_base_model() if hasattr(model, "get_base_model") else model
    takes = inspect.signature(inner.forward).parameters
    return {"cache": "cache" if "cache" in takes else "past_key_values", "logits_to_keep": "logits_to_keep" in takes}
