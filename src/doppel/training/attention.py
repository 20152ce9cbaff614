"""Attention over a pack of examples without an L×L mask.

A pack lays several examples end to end. SDPA with an explicit (1, 1, L, L)
block mask keeps them apart, but an explicit mask sends SDPA down its math
path, which holds the full L×L attention weights per head and layer for the
backward pass: memory grows with the square of the pack (tens of GB at 8k
tokens). Here each example of the pack attends on its own, with
``is_causal=True`` and no mask, which lets SDPA use its flash kernel (CPU and
GPU) that keeps only a row statistic per position. Memory is then linear in
the pack, and no position is ever compared with another example's.

Examples are found from ``position_ids``, which restart at 0 for each example
(``dataset.packing.pack``); transformers hands them to the attention function.
Everything else (a padding mask in batched generation, decoding with a KV
cache) goes to transformers' own SDPA function unchanged, so a model loaded
with this implementation answers exactly as with ``sdpa``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

PACKED = "doppel_packed"

_registered = False


def register() -> str:
    """Make ``attn_implementation="doppel_packed"`` known to transformers (idempotent); returns the name."""
    global _registered
    if _registered:
        return PACKED
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface

    AttentionInterface.register(PACKED, packed_attention_forward)
    AttentionMaskInterface.register(PACKED, packed_mask)
    _registered = True
    return PACKED


def supports(config) -> bool:
    """Whether a model's attention can run per example: every layer full causal attention (no sliding window,
    whose masks this module would drop)."""
    if getattr(config, "sliding_window", None) and getattr(config, "use_sliding_window", True):
        return False
    return not any(t != "full_attention" for t in (getattr(config, "layer_types", None) or []))


def packed_mask(
    batch_size: int,
    q_length: int,
    kv_length: int,
    q_offset: int = 0,
    kv_offset: int = 0,
    attention_mask: torch.Tensor | None = None,
    **kwargs,
):
    """No mask for a pack (the attention function splits it); transformers' SDPA mask for anything else."""
    from transformers.masking_utils import sdpa_mask

    if attention_mask is None and q_length == kv_length:
        return None
    return sdpa_mask(batch_size, q_length, kv_length, q_offset, kv_offset, attention_mask=attention_mask, **kwargs)


def segments(position_ids: torch.Tensor) -> list[tuple[int, int]]:
    """(start, end) of each example in one row of position ids: a new example starts wherever the position is 0."""
    starts = torch.nonzero(position_ids == 0).flatten().tolist()
    if not starts or starts[0] != 0:
        starts.insert(0, 0)
    return list(zip(starts, starts[1:] + [int(position_ids.shape[-1])], strict=True))


class _Bounds:
    """The segments of the last position_ids seen: every layer of one forward gets the same tensor, so it is
    read once per forward instead of once per layer (on a GPU each read waits for the device)."""

    key: torch.Tensor | None = None
    rows: list[list[tuple[int, int]]] = []

    @classmethod
    def of(cls, position_ids: torch.Tensor, batch: int) -> list[list[tuple[int, int]]]:
        if cls.key is not position_ids:
            ids = position_ids if position_ids.dim() == 2 else position_ids[None]
            cls.rows = [segments(row) for row in ids.cpu()]
            cls.key = position_ids
        return cls.rows if len(cls.rows) == batch else [cls.rows[0]] * batch


def packed_attention_forward(
    module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    dropout: float = 0.0,
    scaling: float | None = None,
    position_ids: torch.Tensor | None = None,
    **kwargs,
) -> tuple[torch.Tensor, None]:
    """Query/key/value of shape (batch, heads, L, head_dim); returns (batch, L, heads, head_dim) as transformers'
    attention functions do."""
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    length = query.shape[2]
    if attention_mask is not None or position_ids is None or key.shape[2] != length or length < 2:
        return sdpa_attention_forward(
            module, query, key, value, attention_mask, dropout=dropout, scaling=scaling, **kwargs
        )
    # Grouped-query attention inside the kernel: no repeated copies of the keys and values to keep.
    gqa = key.shape[1] != query.shape[1]
    rows = []
    for b, bounds in enumerate(_Bounds.of(position_ids, query.shape[0])):
        q, k, v = query[b : b + 1], key[b : b + 1], value[b : b + 1]
        if len(bounds) == 1:
            rows.append(
                F.scaled_dot_product_attention(
                    q, k, v, dropout_p=dropout, is_causal=True, scale=scaling, enable_gqa=gqa
                )
            )
            continue
        parts = [
            F.scaled_dot_product_attention(
                q[:, :, s:e],
                k[:, :, s:e],
                v[:, :, s:e],
                dropout_p=dropout,
                is_causal=True,
                scale=scaling,
                enable_gqa=gqa,
            )
            for s, e in bounds
        ]
        rows.append(torch.cat(parts, dim=2))
    out = rows[0] if len(rows) == 1 else torch.cat(rows, dim=0)
    return out.transpose(1, 2).contiguous(), None
