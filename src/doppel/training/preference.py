"""Preference training (DPO): the twin learns, from pairs of replies, which one the person would have written.

Each pair is a prompt with a chosen reply (the person's real words, or a
reviewer's correction) and a rejected one (what the twin said). Direct
Preference Optimization (Rafailov et al. 2023) raises the chosen reply's
log-probability relative to the rejected one's, measured against a frozen
reference model, with no reward model and no sampling.

The reference is the version training starts from (final). At step 0 the
policy *is* the reference, so the reference's log-probabilities are computed
once, before the first update, with the same model: no second copy of the
model is held. A replay of ordinary examples (cross-entropy on the person's
tokens) is mixed into every step so the twin does not drift from the rest of
what it learned.
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from doppel.dataset.packing import pack as make_pack
from doppel.dataset.tokenize import TokenizedExample
from doppel.training.attention import PACKED
from doppel.training.fit import TrainingCancelled
from doppel.training.loss import pack_loss
from doppel.training.placement import Placement

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TokenizedPair:
    """One preference: the same prompt, then the chosen or the rejected reply (labels on the reply only)."""

    chosen: TokenizedExample
    rejected: TokenizedExample
    key: str


@dataclass
class PreferenceResult:
    steps: int
    losses: list[float] = field(default_factory=list)  # per step: DPO loss (+ replay weight x replay loss)
    dpo_losses: list[float] = field(default_factory=list)
    train_seconds: float = 0.0


def sequence_logprobs(model, examples: Sequence[TokenizedExample], placement: Placement) -> torch.Tensor:
    """The summed log-probability of each example's labelled tokens, in one packed forward pass."""
    pack = make_pack(list(examples)).to(placement.device)
    labels = pack.labels[0]
    targets = torch.nonzero(labels[1:] != -100).squeeze(-1) + 1
    per_example = model.config._attn_implementation == PACKED
    with placement.autocast():
        logits = model(
            input_ids=pack.input_ids,
            position_ids=pack.position_ids,
            attention_mask=None if per_example else pack.attention_mask,
            use_cache=False,
            logits_to_keep=targets - 1,
        ).logits[0]
    token_logprobs = torch.log_softmax(logits.float(), dim=-1).gather(-1, labels[targets][:, None]).squeeze(-1)
    # Which example each target token belongs to: positions restart at 0 at every example.
    example_of = torch.cumsum((pack.position_ids[0] == 0).long(), 0) - 1
    sums = torch.zeros(len(examples), dtype=torch.float32, device=token_logprobs.device)
    return sums.index_add(0, example_of[targets], token_logprobs)


def _pair_logprobs(model, pairs: Sequence[TokenizedPair], placement: Placement) -> tuple[torch.Tensor, torch.Tensor]:
    both = sequence_logprobs(model, [p.chosen for p in pairs] + [p.rejected for p in pairs], placement)
    return both[: len(pairs)], both[len(pairs) :]


@torch.no_grad()
def reference_logprobs(
    model, pairs: Sequence[TokenizedPair], placement: Placement, batch_size: int = 4
) -> dict[str, tuple[float, float]]:
    """Each pair's (chosen, rejected) log-probabilities under ``model`` as it is now, without dropout."""
    was_training = model.training
    model.eval()
    out: dict[str, tuple[float, float]] = {}
    try:
        for start in range(0, len(pairs), batch_size):
            batch = pairs[start : start + batch_size]
            chosen, rejected = _pair_logprobs(model, batch, placement)
            out.update({p.key: (float(c), float(r)) for p, c, r in zip(batch, chosen, rejected, strict=True)})
    finally:
        model.train(was_training)
    return out


def preference_accuracy(model, pairs: Sequence[TokenizedPair], placement: Placement) -> float | None:
    """Share of pairs whose chosen reply the model finds more likely than the rejected one (None: no pairs).

    The comparison is of summed log-probabilities, the quantity DPO moves; before and after training it is
    taken on the same pairs, so a length difference within a pair weighs the same on both sides.
    """
    right = preferred(model, pairs, placement)
    return sum(right.values()) / len(right) if right else None


def preferred(model, pairs: Sequence[TokenizedPair], placement: Placement) -> dict[str, bool]:
    """Per pair: does the model find the chosen reply more likely than the rejected one."""
    if not pairs:
        return {}
    return {key: c > r for key, (c, r) in reference_logprobs(model, pairs, placement).items()}


def dpo_loss(
    chosen: torch.Tensor, rejected: torch.Tensor, ref_chosen: torch.Tensor, ref_rejected: torch.Tensor, beta: float
) -> torch.Tensor:
    """Mean DPO loss: -log sigmoid(beta x (how much more the policy than the reference prefers chosen))."""
    margin = (chosen - ref_chosen) - (rejected - ref_rejected)
    return -F.logsigmoid(beta * margin).mean()


def fit_preference(
    model,
    pairs: Sequence[TokenizedPair],
    replay: Sequence[TokenizedExample],
    placement: Placement,
    *,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    beta: float = 0.1,
    replay_weight: float = 1.0,
    seed: int = 0,
    max_grad_norm: float = 1.0,
    on_step: Callable[[int, int, float], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> PreferenceResult:
    """Train ``model`` (a PEFT model, trainable adapter) in place with DPO on ``pairs`` plus a replay.

    Each step takes ``batch_size`` pairs and as many replay examples; ``on_step(step, total, loss)``
    reports progress and ``should_stop()`` is asked before every step.
    """
    if not pairs:
        raise ValueError("no preference pairs to train on")
    torch.manual_seed(seed)
    reference = reference_logprobs(model, pairs, placement)
    rng = random.Random(seed)
    steps_per_epoch = math.ceil(len(pairs) / batch_size)
    total = steps_per_epoch * epochs
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=learning_rate, weight_decay=0.0)
    result = PreferenceResult(steps=0)
    replay_order = list(range(len(replay)))
    rng.shuffle(replay_order)
    replay_at = 0
    model.train()
    started = time.perf_counter()
    for _ in range(epochs):
        order = list(range(len(pairs)))
        rng.shuffle(order)
        for start in range(0, len(order), batch_size):
            if should_stop is not None and should_stop():
                raise TrainingCancelled(f"cancelled at step {result.steps}/{total}")
            batch = [pairs[i] for i in order[start : start + batch_size]]
            chosen, rejected = _pair_logprobs(model, batch, placement)
            ref = torch.tensor([reference[p.key] for p in batch], dtype=torch.float32, device=chosen.device)
            dpo = dpo_loss(chosen, rejected, ref[:, 0], ref[:, 1], beta)
            loss = dpo
            if replay and replay_weight > 0:
                picked = []
                for _ in range(len(batch)):
                    picked.append(replay[replay_order[replay_at % len(replay_order)]])
                    replay_at += 1
                with placement.autocast():
                    replay_sum, n = pack_loss(model, make_pack(picked).to(placement.device))
                loss = loss + replay_weight * replay_sum / max(n, 1)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, max_grad_norm)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            result.steps += 1
            result.losses.append(loss.detach().item())
            result.dpo_losses.append(dpo.detach().item())
            if on_step is not None:
                on_step(result.steps, total, result.losses[-1])
    result.train_seconds = time.perf_counter() - started
    return result
