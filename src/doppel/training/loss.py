"""Loss on the person's tokens only, computing logits only where they are needed, a chunk at a time."""

from __future__ import annotations

import torch
from torch.utils.checkpoint import checkpoint

from doppel.dataset.packing import Pack
from doppel.training.attention import PACKED

# Logit values (supervised positions × vocabulary) above which the loss goes chunk by chunk. An 8B model's
# 128k vocabulary at 1,000 supervised positions would hold 0.5 GB of fp32 logits, again for their gradient;
# chunked, one chunk's logits exist at a time and are recomputed in the backward pass. Small models stay
# under it and take the single pass (recomputing costs an extra LM-head matmul).
CHUNK_ELEMENTS = 32 * 1024 * 1024


def pack_loss(model, pack: Pack, *, chunk_elements: int = CHUNK_ELEMENTS) -> tuple[torch.Tensor, int]:
    """Summed cross-entropy over the pack's target tokens, and how many there are.

    Token t is predicted at position t-1. Only those positions go through the
    LM head: with a 49k vocabulary, logits for every prompt token would cost
    more memory than the rest of the step.
    """
    labels = pack.labels[0]
    targets = torch.nonzero(labels[1:] != -100).squeeze(-1) + 1
    if targets.numel() == 0:
        zero = next(model.parameters()).sum() * 0.0
        return zero, 0
    # Per-example attention finds the examples from the positions; any other attention needs the block mask.
    per_example = model.config._attn_implementation == PACKED
    inputs = {
        "input_ids": pack.input_ids,
        "position_ids": pack.position_ids,
        "attention_mask": None if per_example else pack.attention_mask,
        "use_cache": False,
    }
    vocab = model.config.vocab_size
    if targets.numel() * vocab <= chunk_elements or getattr(model.config, "final_logit_softcapping", None):
        # Reshaped (a view), not ``[0]``: selecting costs the backward pass another zero-filled copy of the logits.
        logits = model(**inputs, logits_to_keep=targets - 1).logits
        logits = logits.reshape(-1, logits.shape[-1])
        return summed_cross_entropy(logits, labels[targets]), int(targets.numel())
    causal_lm = model.get_base_model() if hasattr(model, "get_base_model") else model
    hidden = causal_lm.base_model(**inputs).last_hidden_state[0]
    head = causal_lm.get_output_embeddings()
    rows = max(1, chunk_elements // vocab)
    total = hidden.new_zeros((), dtype=torch.float32)
    for start in range(0, targets.numel(), rows):
        chunk = targets[start : start + rows]
        total = total + checkpoint(_chunk_loss, hidden[chunk - 1], labels[chunk], head, use_reentrant=False)
    return total, int(targets.numel())


def _chunk_loss(hidden: torch.Tensor, labels: torch.Tensor, head) -> torch.Tensor:
    return summed_cross_entropy(head(hidden), labels)


def summed_cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """``F.cross_entropy(logits.float(), labels, reduction="sum")`` with one (N, vocabulary) tensor fewer.

    The logits are the largest tensors of a step (405 positions × 49k words: 80 MB), and on a CPU every new
    one of that size is fresh memory from the kernel, paged in at about a tenth of a second. F.cross_entropy
    keeps log-softmax's output, then its backward makes a zero-filled gradient for the NLL part and another
    for log-softmax's. Here the log-softmax output is kept and becomes the gradient in place (softmax minus
    one at the target), so the backward pass allocates nothing of that size.
    """
    return _SummedCrossEntropy.apply(logits, labels)


class _SummedCrossEntropy(torch.autograd.Function):
    @staticmethod
    def forward(ctx, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        logp = torch.log_softmax(logits.float(), dim=-1)
        ctx.save_for_backward(logp, labels)
        ctx.logits_dtype = logits.dtype
        return -logp.gather(1, labels[:, None]).sum()

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad: torch.Tensor):
        logp, labels = ctx.saved_tensors
        # Written over the kept log-probabilities: the graph is used once (no retain_graph in training).
        g = logp.exp_()
        g[torch.arange(g.shape[0], device=g.device), labels] -= 1.0
        g.mul_(grad)
        return g.to(ctx.logits_dtype), None
