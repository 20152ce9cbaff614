"""Small statistics the scorecard's parts share: rounding, means with their counts, paired intervals."""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Sequence

from doppel.evaluation.style import sample_fields
from doppel.scorecard import Interval, Mean


def rounded(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(float(value), digits)


def rounded_values(summary: dict) -> dict:
    return {k: (rounded(v) if isinstance(v, float) else v) for k, v in summary.items()}


def mean_or_none(values: Sequence[float]) -> float | None:
    return rounded(statistics.fmean(values)) if values else None


def mean_block(values: Sequence[float]) -> Mean:
    return Mean(mean=mean_or_none(values), **sample_fields(len(values)))


def paired_interval(twin: Sequence[float], base: Sequence[float]) -> Interval | None:
    """A 95% interval for the mean twin-minus-base difference over the same prompts (normal approximation).

    With a few dozen held-out prompts the difference moves by several hundredths between runs; the
    interval says whether the sign can be trusted.
    """
    diffs = [t - b for t, b in zip(twin, base, strict=True)]
    if len(diffs) < 2:
        return None
    mean, spread = statistics.fmean(diffs), 1.96 * statistics.stdev(diffs) / math.sqrt(len(diffs))
    low, high = mean - spread, mean + spread
    return Interval(low=rounded(low), high=rounded(high), significant=low > 0 or high < 0, n=len(diffs))


def distinct_share(replies: Sequence[str]) -> float | None:
    """The share of replies no other reply repeats (after folding case and whitespace)."""
    if not replies:
        return None
    counts = Counter(" ".join(r.casefold().split()) for r in replies)
    return sum(1 for r in replies if counts[" ".join(r.casefold().split())] == 1) / len(replies)
