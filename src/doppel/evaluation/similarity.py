"""Meaning match: does the twin's reply say what the person actually said?

Cosine similarity of sentence embeddings (all-MiniLM-L6-v2, loaded offline by
``doppel.embeddings``) between each reply and the person's real one.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from doppel.embeddings import Embedder

__all__ = ["Embedder", "pairwise_similarity"]


def pairwise_similarity(
    replies: Sequence[str], references: Sequence[str], embedder: Embedder | None = None
) -> list[float]:
    """Cosine similarity of each reply to its own reference (same index), in [-1, 1]."""
    if len(replies) != len(references):
        raise ValueError(f"need one reference per reply, got {len(replies)} replies and {len(references)} references")
    if not replies:
        return []
    embedder = embedder or Embedder()
    a = embedder.encode(replies)
    b = embedder.encode(references)
    # Rows are unit length, so the row-wise dot product is the cosine.
    return [float(x) for x in np.sum(a * b, axis=1)]
