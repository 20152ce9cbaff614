"""The measuring every benchmark shares: two or more sides, repeated, alternating, summarised the same way.

A side is a callable ``run(i) -> {metric: value}`` for repeat index ``i``
(0, 1, ...; warm-ups get negative indices, so a script can give them inputs
that no timed repeat uses). Sides measure themselves, since some numbers are
taken inside a call (time to the first streamed token); :func:`timed` wraps
the common case of timing the whole call.

Why this shape:
- The order of the sides rotates every repeat (for two sides: alternates), so
  neither always runs first on a cold cache or last on a hot CPU, nor always
  right after the other side's garbage.
- Every side gets the same number of untimed warm-ups (model loading, lazy
  initialisation), so neither is timed cold while the other is timed warm.
- Min, median and max are printed, not a mean: on a shared machine a stall
  lands in one sample and moves the max, not the median; a wide min-max spread
  says the machine was busy. Ratios are of medians.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

MIN_REPEATS = 5  # the project's standard; fewer is allowed for a quick check, and then flagged in the output

Samples = dict[str, dict[str, list[float]]]  # side -> metric -> one value per timed repeat


@dataclass(frozen=True)
class Metric:
    key: str  # as the sides return it
    label: str
    unit: str = "s"
    higher_is_better: bool = False
    scale: float = 1.0  # display only: 1000 shows seconds as ms


def timed(run: Callable[[int], object], key: str = "seconds") -> Callable[[int], dict[str, float]]:
    """A side whose one number is the wall time of the whole call."""

    def side(i: int) -> dict[str, float]:
        start = time.perf_counter()
        run(i)
        return {key: time.perf_counter() - start}

    return side


def add_arguments(parser: argparse.ArgumentParser, repeats: int = MIN_REPEATS, warmup: int = 1) -> None:
    parser.add_argument(
        "--repeats",
        type=int,
        default=repeats,
        help=f"Timed runs of each side (at least {MIN_REPEATS} for numbers worth quoting)",
    )
    parser.add_argument("--warmup", type=int, default=warmup, help="Untimed runs of each side first")


def compare(
    sides: Sequence[tuple[str, Callable[[int], Mapping[str, float]]]],
    repeats: int,
    *,
    warmup: int = 1,
    progress: bool = True,
) -> Samples:
    """Run every side ``warmup`` times untimed, then ``repeats`` times each, rotating which goes first."""
    if repeats < 1:
        raise SystemExit("--repeats must be at least 1")
    names = [name for name, _ in sides]
    for w in range(warmup):
        for name, run in _rotated(sides, w):
            _say(progress, f"warm-up {w + 1}/{warmup}: {name}")
            run(-1 - w)
    samples: Samples = {name: {} for name in names}
    for i in range(repeats):
        for name, run in _rotated(sides, i):
            _say(progress, f"repeat {i + 1}/{repeats}: {name}")
            for key, value in run(i).items():
                samples[name].setdefault(key, []).append(float(value))
    return samples


def report(samples: Samples, metrics: Sequence[Metric], *, title: str = "", baseline: str | None = None) -> None:
    """Per metric: min / median / max of each side, and its median against the baseline (default: first side)."""
    names = list(samples)
    baseline = baseline or names[0]
    repeats = max((len(v) for side in samples.values() for v in side.values()), default=0)
    width = max(len(n) for n in names) + 2
    if title:
        print(f"\n{title}")
    note = "" if repeats >= MIN_REPEATS else f"  (fewer than {MIN_REPEATS}: a quick check, not numbers to quote)"
    order = "alternating" if len(names) == 2 else "rotating"
    print(f"{repeats} timed repeats per side, order {order}, warm-ups not counted; ratios against {baseline!r}{note}")
    for metric in metrics:
        better = "higher" if metric.higher_is_better else "lower"
        print(f"\n{metric.label} ({metric.unit}, {better} is better)")
        print(f"{'':<{width}}{'min':>9} {'median':>9} {'max':>9}   median vs baseline")
        base = samples[baseline].get(metric.key)
        for name in names:
            values = samples[name].get(metric.key)
            if not values:
                print(f"{name:<{width}}{'-':>9} {'-':>9} {'-':>9}")
                continue
            lo, mid, hi = (v * metric.scale for v in (min(values), statistics.median(values), max(values)))
            ratio = ""
            if name != baseline and base:
                ratio = f"   {_ratio(statistics.median(base), statistics.median(values), metric):.2f}x"
            print(f"{name:<{width}}{_num(lo)} {_num(mid)} {_num(hi)}{ratio}")
    print("(ratio: the side's median against the baseline's; above 1x the side is better)")


def median(samples: Samples, side: str, key: str) -> float:
    return statistics.median(samples[side][key])


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100), interpolating between the two nearest samples (numpy's default).

    With few samples a high percentile is close to the max: a p95 of 20 samples lies between the two largest.
    """
    if not values:
        raise ValueError("no samples")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _ratio(base: float, value: float, metric: Metric) -> float:
    if metric.higher_is_better:
        return value / base if base else float("inf")
    return base / value if value else float("inf")


def _rotated(sides: Sequence, i: int) -> list:
    k = i % len(sides)
    return list(sides[k:]) + list(sides[:k])


def _num(value: float) -> str:
    return f"{value:9.3f}" if abs(value) < 10 else f"{value:9.1f}"


def _say(on: bool, text: str) -> None:
    if on:
        print(f"  {text}", flush=True)
