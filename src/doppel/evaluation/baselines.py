"""What a decision score has to beat: trivial pickers, and a paired test of twin against base model.

A twin's decision accuracy means little on its own. On the first demo scenarios "pick the longest
option" matched the person more often than the twin did, so the scorecard sets the twin beside
pickers that know nothing of the situation:

- chance: each option alike, 1/k per scenario;
- longest: the option with the most characters;
- overlap: the option whose words the person writes most often, measured on the training-split
  texts (the mean of log(1 + count) over the option's words, common function words left out). It
  stands for "sounds like the person" without reading the situation; a mean, so a long option
  gains nothing by its length.

A picker that ties between options scores the share a random tie-break would get (1/ties when the
person's choice is among them), so no order of the options favours it.

Twin and base model answer the same scenarios, so their difference is tested on the pairs
(McNemar's exact test: only the scenarios where one is right and the other wrong carry evidence).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence

WORD = re.compile(r"[a-z0-9']+")
# Function words every writer uses: they would make any option "overlap" with anyone.
STOP_WORDS = frozenset(
    "a an and are as at be by for from if in is it its of on or our that the their them they this to we with "
    "you your".split()
)
SIGNIFICANCE = 0.05


def words(text: str) -> list[str]:
    return WORD.findall(text.casefold())


def tie_share(values: Sequence[float], right: int) -> float:
    """1/k when the right option is among the k best, else 0."""
    best = max(values)
    top = [i for i, v in enumerate(values) if v == best]
    return 1 / len(top) if right in top else 0.0


def longest_pick(options: Sequence[str], choice: str) -> float:
    return tie_share([len(o) for o in options], options.index(choice))


class OverlapPicker:
    """Picks the option whose words the person uses most, by counts from their own texts."""

    def __init__(self, texts: Iterable[str]):
        self.counts = Counter(w for t in texts for w in words(t))

    def score(self, option: str) -> float:
        kept = [w for w in words(option) if w not in STOP_WORDS] or words(option)
        return sum(math.log1p(self.counts[w]) for w in kept) / max(1, len(kept))

    def pick(self, options: Sequence[str], choice: str) -> float:
        return tie_share([self.score(o) for o in options], options.index(choice))


def mcnemar(first: Sequence[bool], second: Sequence[bool]) -> dict:
    """Exact two-sided McNemar test of two pickers on the same questions.

    ``first_only`` and ``second_only`` count the questions only one of them got right; under "no
    difference" each such question is a fair coin, so the p-value is a two-sided binomial tail.
    """
    if len(first) != len(second):
        raise ValueError("the two pickers must answer the same questions")
    first_only = sum(1 for a, b in zip(first, second) if a and not b)
    second_only = sum(1 for a, b in zip(first, second) if b and not a)
    n = first_only + second_only
    tail = sum(math.comb(n, k) for k in range(min(first_only, second_only) + 1)) / 2**n if n else 1.0
    p = min(1.0, 2 * tail)
    return {"first_only": first_only, "second_only": second_only, "p_value": p, "significant": p < SIGNIFICANCE}
