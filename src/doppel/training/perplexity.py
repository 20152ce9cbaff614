"""Validation loss and perplexity over the person's held-out tokens."""

from __future__ import annotations

import math
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass

import torch

from doppel.dataset.packing import batches
from doppel.dataset.tokenize import TokenizedExample
from doppel.training.loss import pack_loss
from doppel.training.placement import Placement

# The seed's targets for a trained twin; every version's metrics say which it met.
SEED_TARGETS = {"train_loss": 0.5, "val_loss": 0.6, "val_perplexity": 10.0}


@dataclass(frozen=True)
class LossResult:
    loss: float  # mean cross-entropy per target token (nats)
    tokens: int
    examples: int

    @property
    def perplexity(self) -> float:
        return math.exp(min(self.loss, 50.0))

    def as_dict(self) -> dict:
        return {"loss": self.loss, "perplexity": self.perplexity, "tokens": self.tokens, "examples": self.examples}


@torch.no_grad()
def evaluate_loss(
    model,
    examples: Sequence[TokenizedExample],
    *,
    batch_size: int = 8,
    max_batches: int = 0,
    placement: Placement | None = None,
) -> LossResult | None:
    """Token-weighted mean loss; None when there is nothing to evaluate."""
    if not examples:
        return None
    was_training = model.training
    model.eval()
    total, count, n_examples = 0.0, 0, 0
    try:
        for i, pack in enumerate(batches(examples, batch_size)):
            if max_batches and i >= max_batches:
                break
            with placement.autocast() if placement else nullcontext():
                loss, n = pack_loss(model, pack.to(placement.device if placement else "cpu"))
            total += float(loss)
            count += n
            n_examples += pack.n_examples
    finally:
        model.train(was_training)
    if count == 0:
        return None
    return LossResult(loss=total / count, tokens=count, examples=n_examples)
