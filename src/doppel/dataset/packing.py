"""Packing: several examples in one row, no padding, and no attention across examples.

A step's examples are laid end to end in a single sequence, with
``position_ids`` restarting at 0 for each. Restarting positions alone does not
keep them apart under plain SDPA (the second example would attend to the
first). Training models use ``training.attention``'s per-example attention,
which reads the examples from the positions and needs no mask; for any other
attention a pack can give a block-diagonal causal mask of shape (1, 1, L, L)
(``attention_mask``: token i may attend to token j only when both belong to
the same example and j <= i), built on demand since it is quadratic in L.
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
    n_examples: int

    @property
    def n_tokens(self) -> int:
        return int(self.input_ids.shape[1])

    @property
    def n_target(self) -> int:
        return int((self.labels != -100).sum())

    @property
    def attention_mask(self) -> torch.Tensor:
        """(1, 1, L, L) bool, True where attention is allowed: within one example, causally."""
        positions = self.position_ids[0]
        doc = torch.cumsum((positions == 0).long(), 0)
        length = positions.shape[0]
        causal = torch.ones(length, length, dtype=torch.bool, device=positions.device).tril_()
        return (causal & (doc[:, None] == doc[None, :]))[None, None]

    def to(self, device: torch.device | str) -> Pack:
        return Pack(self.input_ids.to(device), self.labels.to(device), self.position_ids.to(device), self.n_examples)


def pack(examples: Sequence[TokenizedExample]) -> Pack:
    if not examples:
        raise ValueError("cannot pack zero examples")
    ids, labels, positions = [], [], []
    for ex in examples:
        if len(ex) == 0:
            raise ValueError(f"cannot pack an empty example ({ex.key})")
        ids.extend(ex.input_ids)
        labels.extend(ex.labels)
        positions.extend(range(len(ex)))
    return Pack(
        input_ids=torch.tensor([ids], dtype=torch.long),
        labels=torch.tensor([labels], dtype=torch.long),
        position_ids=torch.tensor([positions], dtype=torch.long),
        n_examples=len(examples),
    )


# With a token budget, examples are drawn in shuffled windows of this many packs' worth and packed
# first-fit decreasing inside each window (longest first, each into the first pack with room), so little of
# the budget goes unused while the order across windows stays random.
_WINDOW_PACKS = 8


def plan(lengths: Sequence[int], batch_size: int, *, seed: int | None = None, pack_tokens: int = 0) -> list[list[int]]:
    """Which examples (indices) go in each pack of an epoch, in training order.

    - ``pack_tokens == 0``: ``batch_size`` examples per pack, shuffled with ``seed`` (in order when None).
    - ``pack_tokens > 0``: as many examples as fit in ``pack_tokens`` tokens (an example longer than the
      budget alone); ``batch_size`` is then ignored.
    """
    order = list(range(len(lengths)))
    rng = random.Random(seed)
    if seed is not None:
        rng.shuffle(order)
    if pack_tokens <= 0:
        return [order[start : start + batch_size] for start in range(0, len(order), batch_size)]
    mean = max(1, sum(lengths) // max(1, len(lengths)))
    window = max(1, _WINDOW_PACKS * pack_tokens // mean)
    packs: list[list[int]] = []
    for start in range(0, len(order), window):
        bins: list[list[int]] = []
        room: list[int] = []
        for i in sorted(order[start : start + window], key=lambda i: -lengths[i]):
            home = next((b for b, left in enumerate(room) if lengths[i] <= left), None)
            if home is None:
                bins.append([i])
                room.append(pack_tokens - lengths[i])
            else:
                bins[home].append(i)
                room[home] -= lengths[i]
        packs.extend(bins)
    if seed is not None:
        rng.shuffle(packs)  # the full packs and a window's last, emptier ones interleaved
    return packs


def batches(
    examples: Sequence[TokenizedExample], batch_size: int, *, seed: int | None = None, pack_tokens: int = 0
) -> Iterator[Pack]:
    """The packs of one epoch (``plan``)."""
    for indices in plan([len(e) for e in examples], batch_size, seed=seed, pack_tokens=pack_tokens):
        yield pack([examples[i] for i in indices])


def steps_per_epoch(n_examples: int, batch_size: int) -> int:
    return -(-n_examples // batch_size)
