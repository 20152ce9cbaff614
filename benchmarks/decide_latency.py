"""decide latency on the llama.cpp backend, p50 and p95, with 3 and with 10 options, against the 0.5 s goal.

    make demo                                        # once: trains the demo twin (final) in $DOPPEL_HOME
    python benchmarks/decide_latency.py              # 20 timed calls per side
    python benchmarks/decide_latency.py --repeats 2  # quick check that it runs

What is timed: ``Twin.decide(situation, options, rationale=False)`` on the demo
twin's final version, the whole call (rendering, scoring every option, the
``pmi`` reference scored by the base model without the adapter, the softmax), as a request to
``/api/decide`` with ``rationale: false`` runs it. The rationale is a separate
generation and is left out: the goal is for the decision.

Sides: llama.cpp with 3 options and with 10 (what ``inference.backend = "auto"``
serves with on a CPU), and the named baseline, doppel's transformers backend
(what served before ``auto``), with the same 3 and 10. The four sides rotate
their order every repeat (benchmarks/timing.py), after one untimed warm-up each.

Nothing is served from a cache on the compared sides: every timed call, on
every side, gets a situation no other call gets (drawn without replacement from
a pool of generated ones of similar length), and everything a twin keeps between
calls is dropped before each (``Twin.forget``: llama.cpp's generation and
option-scoring contexts, and decide's reference scores per option list), so
even the persona's system prompt is read afresh. Two more llama.cpp sides
("caches kept", left out with ``--cold-only``) keep them, as a server does
between requests: the next prompt reads only what follows the part it shares
with the previous one, and the ``pmi`` reference, which depends on the option
list and not on the situation, is scored once per option list. They are
reported beside the goal, never as a ratio to transformers.
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
WARM = "llama.cpp, caches kept"
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
    twin: Twin, size: int, fresh_situations: Iterator[str], retrieval: bool | None, *, cold: bool = True
) -> Callable[[int], dict[str, float]]:
    options = OPTIONS_10[:size]

    def run(i: int) -> dict[str, float]:
        situation = next(fresh_situations)
        if cold:
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
    parser.add_argument("--cold-only", action="store_true", help="Leave out the llama.cpp sides that keep the prefix")
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
    calls = (args.repeats + args.warmup) * (len(twins) + (0 if args.cold_only else 1)) * len(SIZES)
    fresh_situations = iter(situations(calls))
    sides = [
        (f"{name}, {size} options", decide_side(twin, size, fresh_situations, retrieval))
        for name, twin in twins.items()
        for size in SIZES
    ]
    if not args.cold_only:
        server = Twin.load(twin_name, config=settings, backend="llamacpp")
        twins[WARM] = server
        # What a server sees between two requests: llama.cpp keeps what the previous prompt shares with the
        # next (the persona's system prompt), and the twin the reference of an option list it was asked before.
        # Reported apart, never against transformers (which would keep the reference, but no prompt).
        sides += [
            (f"{WARM}, {size} options", decide_side(server, size, fresh_situations, retrieval, cold=False))
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
        f"{args.warmup} warm-up each not counted; every call a new situation; llama.cpp's caches reset before each "
        f"call except on the '{WARM}' sides"
    )
    print(f"{'':<{width}}{'min':>8} {'median':>8} {'p95':>8} {'max':>8}   median vs transformers")
    for name, values in seconds.items():
        lo, mid, p95, hi = summary(values)
        size = name.rsplit(", ", 1)[1]
        base = seconds.get(f"transformers, {size}")
        compared = base and name.startswith("llama.cpp, ") and not name.startswith(WARM)
        ratio = f"   {statistics.median(base) / mid:.2f}x" if compared else ""
        print(f"{name:<{width}}{lo:8.3f} {mid:8.3f} {p95:8.3f} {hi:8.3f}{ratio}")
    print(f"\ngoal: decide under {args.goal:g} s at p95 on llama.cpp")
    for name in (n for n in seconds if not n.startswith("transformers")):
        _, mid, p95, _ = summary(seconds[name])
        verdict = "met" if p95 < args.goal else "not met"
        print(f"  {name}: p50 {mid:.3f} s, p95 {p95:.3f} s: {verdict}")
    if args.repeats < 5:
        print("(fewer than 5 repeats: a quick check, not numbers to quote)")


if __name__ == "__main__":
    main()
