"""Nightly incremental run with ~1% new data vs. a full retrain, on the demo persona, in one run.

    python benchmarks/nightly.py [--scale 0.25] [--new-share 0.01] [--epochs 1] [--repeats 5]
    python benchmarks/nightly.py --scale 0.05 --repeats 2      # quick check that it runs (a few minutes)

Baseline (named): a full retrain from the base model on every record (what
the weekly job does). Measured: the nightly incremental run after ~1% new
records arrive (new examples plus an equal replay sample, continuing from
final). Both use the real base model, the same settings, a throwaway
embedded PostgreSQL, and include everything a run does (collect, data set,
training, gate against final, registering the version).

Setup, untimed: the persona's records, one full run that becomes ``final``
(the version the nightly run continues from), then the new records. Every
timed run is made with ``promote=False``, so ``final`` and its watermarks
never move: each repeat of either side starts from the same state and the
same data, and neither side benefits from what the other left behind. The
order of the two sides alternates (benchmarks/timing.py).

To shrink the work, lower ``--scale`` (fewer records: both sides shrink with
it) rather than capping steps, which would cut the full retrain alone and
flatter the baseline. At small scales the new records are at least 2, so the
new share printed may be above ``--new-share``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import psycopg
from timing import Metric, add_arguments, compare, median, report, timed

from doppel.config import Settings
from doppel.db import Database
from doppel.demo.load import load_demo
from doppel.demo.persona import ANCHOR, generate, generate_new
from doppel.pipeline import train_twin


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.25, help="Demo persona size (1.0: ~1000 of his records)")
    parser.add_argument("--new-share", type=float, default=0.01, help="New records as a share of his records")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument(
        "--base-cache",
        type=Path,
        default=Path(os.environ.get("DOPPEL_HOME", "~/.doppel")).expanduser() / "base_models",
        help="Folder of converted base models to reuse",
    )
    add_arguments(parser)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        if args.base_cache.is_dir():
            (home / "base_models").symlink_to(args.base_cache.resolve(), target_is_directory=True)
        settings = Settings.model_validate(
            {
                "home": str(home),
                "twins": [
                    {
                        "training": {"epochs": args.epochs, "max_length": 256, "checkpoint_steps": 0},
                        "promotion": {"gate_examples": 48},
                    }
                ],
            }
        )
        db = Database(settings)
        data = generate(scale=args.scale)
        with db.connection() as conn:
            load_demo(conn, data)
        print("setup: training the final version the nightly runs continue from (untimed)", flush=True)
        parent = train_twin(settings, mode="full", db=db, promote=True).version

        his = sum(1 for e in data.emails if "allan" in e["sender_email"]) + len(data.deals) + len(data.notes)
        n_new = max(2, round(args.new_share * his))
        with psycopg.connect(db.url) as conn:
            load_demo(
                conn, generate_new(since=ANCHOR, seed=11, n_emails=n_new, n_messages_convs=0, n_deals=0, n_notes=0)
            )

        last = {}  # the latest outcome of each side, to show what one run did

        def run(mode):
            def once(_: int) -> None:
                last[mode] = train_twin(settings, mode=mode, db=db, promote=False)
                if last[mode].version is None:  # timing a run that trained nothing would flatter it
                    raise SystemExit(f"the {mode} run trained nothing: {last[mode].message}")

            return timed(once)

        full_name = "baseline: full retrain"
        nightly_name = f"nightly incremental ({n_new} new)"
        samples = compare(
            [(full_name, run("full")), (nightly_name, run("incremental"))], args.repeats, warmup=args.warmup
        )

    fm, nm = last["full"].metrics, last["incremental"].metrics
    print(
        f"\nfull retrain: {fm['examples']['train']} examples, {fm['steps']} steps, {fm['tokens_seen']} tokens; "
        f"nightly: {nm['examples']['train']} examples = {nm['selection']['new']} new + "
        f"{nm['selection']['replay']} replay, {nm['steps']} steps, continuing from {parent.name} "
        f"({n_new} new of {his} records: {n_new / his:.1%})"
    )
    report(samples, [Metric("seconds", "wall time of one run")])
    ratio = median(samples, nightly_name, "seconds") / median(samples, full_name, "seconds")
    print(f"nightly run takes {ratio:.3f}x the time of a full retrain ({1 / ratio:.1f}x faster, medians)")


if __name__ == "__main__":
    main()
