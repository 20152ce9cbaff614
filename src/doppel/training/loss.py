"""Loss on the person's tokens only, computing logits only where they are needed."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from doppel.dataset.packing import Pack


def pack_loss(model, pack: Pack) -> tuple[torch.Tensor, int]:
    """Summed cross-entropy over the pack's target tokens, and how many there are.

    Token t is predicted at position t-1. Only those positions go through the
    LM head (``logits_to_keep`` with indices): with a 49k vocabulary, logits
    for every prompt token would cost more memory than the rest of the step.
    """
    labels = pack.labels[0]
    targets = torch.nonzero(labels[1:] != -100).squeeze(-1) + 1
    if targets.numel() == 0:
        zero = next(model.parameters()).sum() * 0.0
        return zero, 0
    out = model(
        input_ids=pack.input_ids,
        position_ids=pack.position_ids,
        attention_mask=pack.attention_mask,
        logits_to_keep=targets - 1,
        use_cache=False,
    )
    logits = out.logits[0].float()
    loss = F.cross_entropy(logits, labels[targets], reduction="sum")
    return loss, int(targets.numel())
