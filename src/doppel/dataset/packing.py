"""Packing: several examples in one row, no padding, and no attention across examples.

A step's examples are laid end to end in a single sequence. Restarting
``position_ids`` alone does not keep them apart under SDPA attention on CPU
(the second example would attend to the first), so each pack also carries a
block-diagonal causal mask of shape (1, 1, L, L): token i may attend to token
j only when both belong to the same example and j <= i.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch

from doppel.dataset.tokenize import TokenizedExample


@dataclass
class Pack:
    input_ids: torch.Tensor  # (1, L)
    labels: torch.Tensor  # (1, L), -100 outside the person's tokens
    position_ids: torch.Tensor  # (1, L), restarting at 0 for each example
    attention_mask: torch.Tensor  # (1, 1, L, L) bool, True where attention is allowed
    n_examples: int

    @property
    def n_tokens(self) -> int:
        return int(self.input_ids.shape[1])

    @property
    def n_target(self) -> int:
        return int((self.labels != -100).sum())

    def to(self, device: torch.device | str) -> Pack:
        return Pack(
            self.input_ids.to(device),
            self.labels.to(device),
            self.position_ids.to(device),
            self.attention_mask.to(device),
            self.n_examples,
        )


def pack(examples: Sequence[TokenizedExample]) -> Pack:
    if not examples:
        raise ValueError("cannot pack zero examples")
    ids, labels, positions, doc = [], [], [], []
    for i, ex in enumerate(examples):
        ids.extend(ex.input_ids)
        labels.extend(ex.labels)
        positions.extend(range(len(ex)))
        doc.extend([i] * len(ex))
    doc_t = torch.tensor(doc)
    length = len(ids)
    causal = torch.ones(length, length, dtype=torch.bool).tril_()
    same_doc = doc_t[:, None] == doc_t[None, :]
    return Pack(
        input_ids=torch.tensor([ids], dtype=torch.long),
        labels=torch.tensor([labels], dtype=torch.long),
        position_ids=torch.tensor([positions], dtype=torch.long),
        attention_mask=(causal & same_doc)[None, None],
        n_examples=len(examples),
    )


def batches(examples: Sequence[TokenizedExample], batch_size: int, *, seed: int | None = None) -> Iterator[Pack]:
    """Packs of ``batch_size`` examples; shuffled with ``seed``, in order when seed is None."""
    order = list(range(len(examples)))
    if seed is not None:
        random.Random(seed).shuffle(order)
    for start in range(0, len(order), batch_size):
        yield pack([examples[i] for i in order[start : start + batch_size]])


def steps_per_epoch(n_examples: int, batch_size: int) -> int:
    return -(-n_examples // batch_size)
