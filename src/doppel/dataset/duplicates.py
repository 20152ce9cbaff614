"""Finding the same text twice: exact copies and near copies of the person's words.

A mailbox keeps one email in several folders (sent, sent items, all
documents), each copy with the recipient written a little differently, and
people paste the same paragraph into many messages. If one copy lands in
training and another in validation, the validation loss and every style
number are measured partly on training data. So duplicates are found by the
person's text alone (never by the prompt), and both kinds are caught:

- exact: the same text after folding case and whitespace;
- near: word 3-gram shingles with a Jaccard similarity of at least
  ``NEAR_JACCARD``, found with MinHash LSH (``datasketch``) and then checked
  exactly, so the estimate never decides on its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from datasketch import MinHash, MinHashLSH

NEAR_JACCARD = 0.9
SHINGLE_WORDS = 3
NUM_PERM = 128
# LSH bands are tuned below the real threshold, so pairs whose estimate falls a little
# short still become candidates; the exact Jaccard then decides.
_LSH_THRESHOLD = 0.7
_WORD = re.compile(r"\w+", re.UNICODE)


def normalise(text: str) -> str:
    """The text as compared for exact copies: case folded, whitespace collapsed."""
    return " ".join(text.casefold().split())


def shingles(text: str, size: int = SHINGLE_WORDS) -> frozenset[str]:
    """Word ``size``-grams of the text (its words alone when it is shorter than that)."""
    words = _WORD.findall(text.casefold())
    if len(words) < size:
        return frozenset(words)
    return frozenset(" ".join(words[i : i + size]) for i in range(len(words) - size + 1))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


def _minhash(parts: frozenset[str]) -> MinHash:
    mh = MinHash(num_perm=NUM_PERM, seed=1)
    mh.update_batch([p.encode("utf-8") for p in parts])
    return mh


@dataclass
class TextIndex:
    """Texts added so far, answering "is this one a copy of any of them?" (exact first, then near)."""

    threshold: float = NEAR_JACCARD
    _exact: dict[str, str] = field(default_factory=dict)  # normalised text -> key
    _shingles: dict[str, frozenset[str]] = field(default_factory=dict)
    _lsh: MinHashLSH = field(default_factory=lambda: MinHashLSH(threshold=_LSH_THRESHOLD, num_perm=NUM_PERM))

    def __len__(self) -> int:
        return len(self._shingles)

    def add(self, key: str, text: str) -> None:
        parts = shingles(text)
        self._exact.setdefault(normalise(text), key)
        self._shingles[key] = parts
        self._lsh.insert(key, _minhash(parts))

    def match(self, text: str) -> tuple[str, str] | None:
        """``("exact", key)`` or ``("near", key)`` of an indexed copy of ``text``, else None."""
        hit = self._exact.get(normalise(text))
        if hit is not None:
            return "exact", hit
        parts = shingles(text)
        best: tuple[float, str] | None = None
        for key in self._lsh.query(_minhash(parts)):
            score = jaccard(parts, self._shingles[key])
            if score >= self.threshold and (best is None or (score, key) > best):
                best = (score, key)
        return ("near", best[1]) if best else None


def leak_check(train: list[str], val: list[str], threshold: float = NEAR_JACCARD) -> dict[str, int]:
    """How many validation texts also sit in training: word for word, and as near copies."""
    index = TextIndex(threshold=threshold)
    for i, text in enumerate(train):
        index.add(str(i), text)
    exact = near = 0
    for text in val:
        found = index.match(text)
        if found is not None:
            exact += found[0] == "exact"
            near += found[0] == "near"
    return {"val": len(val), "exact": exact, "near": near}
