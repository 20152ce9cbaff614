"""decide latency on the llama.cpp backend, p50 and p95, with 3 and with 10 options, against the 0.5 s goal.

    make demo                                        # once: trains the demo twin (final) in $DOPPEL_HOME
    python benchmarks/decide_latency.py              # 20 timed calls per side
    python benchmarks/decide_latency.py --repeats 2  # quick check that it runs

What is timed: ``Twin.decide(situation, options, rationale=False)`` on the demo
twin's final version, the whole call (rendering, scoring every option, the
``pmi`` reference with the adapter switched off, the softmax), as a request to
``/api/decide`` with ``rationale: false`` runs it. The rationale is a separate
generation and is left out: the goal is for the decision.

Sides: llama.cpp with 3 options and with 10 (what ``inference.backend = "auto"``
serves with on a CPU), and the named baseline, doppel's transformers backend
(what served before ``auto``), with the same 3 and 10. The four sides rotate
their order every repeat (benchmarks/timing.py), after one untimed warm-up each.

Nothing is served from a cache: every timed call, on every side, gets a
situation no other call gets (drawn without replacement from a pool of
generated ones of similar length), and llama.cpp's context is reset before
each call, so even the persona's system prompt is evaluated afresh. (Under
``pmi`` llama.cpp resets it anyway when it switches the adapter off for the
reference question; transformers keeps no cache between calls.)
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from collections.abc import Callable, Iterator

import torch
from inference import OPTIONS_10, fresh, llamacpp_crash
from timing import add_arguments, compare, percentile

from doppel.config import load_settings
from doppel.registry import Registry
from doppel.twin import Twin

GOAL_SECONDS = 0.5
SIZES = (3, 10)

_CLIENTS = [
    "A new client",
    "Acme Corp",
    "A retail prospect",
    "Our biggest customer",
    "A seed-stage startup",
    "A hospital group",
    "The Northwind team",
    "A reseller in Ohio",
]
_ASKS = [
    ("wants {n}% off the annual plan", (10, 15, 20, 25, 30, 40)),
    ("asks for net-{n} payment terms on the first order", (30, 45, 60, 90)),
    ("asks us to beat a competitor's quote by {n}%", (5, 10, 15)),
    ("wants a {n}-day free pilot before signing", (14, 30, 60)),
    ("wants the renewal price frozen for {n} years", (2, 3, 5)),
    ("asks for {n} extra seats at no cost", (5, 10, 25)),
]


def situations(count: int, seed: int = 0) -> list[str]:
    """``count`` distinct situations of similar length, in a seeded random order."""
    pool = [f"{client} {ask.format(n=n)}" for client in _CLIENTS for ask, values in _ASKS for n in values]
    if count > len(pool):
        raise SystemExit(f"{count} calls need {count} distinct situations; the pool has {len(pool)}")
    random.Random(seed).shuffle(pool)
    return pool[:count]


def decide_side(
    twin: Twin, size: int, fresh_situations: Iterator[str], retrieval: bool | None
) -> Callable[[int], dict[str, float]]:
    options = OPTIONS_10[:size]

    def run(i: int) -> dict[str, float]:
        situation = next(fresh_situations)
        fresh(twin)
        started = time.perf_counter()
        twin.decide(situation, options, rationale=False, retrieval=retrieval)
        return {"seconds": time.perf_counter() - started}

    return run


def summary(values: list[float]) -> tuple[float, float, float, float]:
    return min(values), statistics.median(values), percentile(values, 95), max(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--twin", default=None)
    parser.add_argument("--no-baseline", action="store_true", help="llama.cpp only (no transformers sides)")
    parser.add_argument("--goal", type=float, default=GOAL_SECONDS, help="Seconds p95 must stay under")
    parser.add_argument(
        "--no-retrieval",
        action="store_true",
        help="Leave the person's records out of the prompt (default: as the twin's config says, as a request does)",
    )
    add_arguments(parser, repeats=20)
    args = parser.parse_args()
    settings = load_settings()
    twin_name = settings.twin(args.twin).name
    version = Registry(settings.resolved_models_dir).final(twin_name)
    if version is None:
        raise SystemExit(f"no final version of {twin_name} in {settings.resolved_models_dir}: run `make demo` first")
    crash = llamacpp_crash(twin_name)
    if crash:
        raise SystemExit(f"llama.cpp cannot be measured here: {crash}")

    twins = {"llama.cpp": Twin.load(twin_name, config=settings, backend="llamacpp")}
    if not args.no_baseline:
        twins["transformers"] = Twin.load(twin_name, config=settings, backend="transformers")
    cpp = twins["llama.cpp"]
    threads = cpp.config.inference.threads or os.cpu_count()
    retrieval = False if args.no_retrieval else None
    retrieving = cpp.retrieve_by_default and retrieval is None
    print(
        f"{twin_name} {version.name}, {cpp.config.inference.decision_scoring} scoring, no rationale, retrieval "
        f"{f'on (k={cpp.config.retrieval.k})' if retrieving else 'off'}; {os.cpu_count()} CPUs, llama.cpp threads "
        f"{threads}, torch threads {torch.get_num_threads()}",
        flush=True,
    )
    calls = (args.repeats + args.warmup) * len(twins) * len(SIZES)
    fresh_situations = iter(situations(calls))
    sides = [
        (f"{name}, {size} options", decide_side(twin, size, fresh_situations, retrieval))
        for name, twin in twins.items()
        for size in SIZES
    ]
    try:
        samples = compare(sides, args.repeats, warmup=args.warmup)
    finally:
        for twin in twins.values():
            twin.close()

    seconds = {name: got["seconds"] for name, got in samples.items()}
    width = max(len(name) for name in seconds) + 2
    order = "rotating" if len(sides) > 2 else "alternating"
    print(
        f"\ndecide latency (s, lower is better): {args.repeats} timed calls per side, order {order}, "
        f"{args.warmup} warm-up each not counted; every call a new situation, llama.cpp's cache reset before each"
    )
    print(f"{'':<{width}}{'min':>8} {'median':>8} {'p95':>8} {'max':>8}   median vs transformers")
    for name, values in seconds.items():
        lo, mid, p95, hi = summary(values)
        size = name.rsplit(", ", 1)[1]
        base = seconds.get(f"transformers, {size}")
        ratio = f"   {statistics.median(base) / mid:.2f}x" if base and not name.startswith("transformers") else ""
        print(f"{name:<{width}}{lo:8.3f} {mid:8.3f} {p95:8.3f} {hi:8.3f}{ratio}")
    print(f"\ngoal: decide under {args.goal:g} s at p95 on llama.cpp")
    for size in SIZES:
        _, mid, p95, _ = summary(seconds[f"llama.cpp, {size} options"])
        verdict = "met" if p95 < args.goal else "not met"
        print(f"  {size} options: p50 {mid:.3f} s, p95 {p95:.3f} s: {verdict}")
    if args.repeats < 5:
        print("(fewer than 5 repeats: a quick check, not numbers to quote)")


if __name__ == "__main__":
    main()
