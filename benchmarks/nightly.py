"""Nightly incremental run with ~1% new data vs. a full retrain, on the demo persona, in one run.

    python benchmarks/nightly.py [--scale 0.25] [--new-share 0.01] [--epochs 1]

Baseline (named): a full retrain from the base model on every record (what
the weekly job does). Measured: the nightly incremental run after ~1% new
records arrive (new examples plus an equal replay sample, continuing from
final). Both use the real base model, the same settings, a throwaway
embedded PostgreSQL, and include everything a run does (collect, data set,
training, gate, registering the version). Prints wall times and the ratio.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import psycopg

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
    parser.add_argument("--base-cache", type=Path, default=Path(os.environ.get("DOPPEL_HOME", "~/.doppel")).expanduser()
                        / "base_models", help="Folder of converted base models to reuse")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        if args.base_cache.is_dir():
            (home / "base_models").symlink_to(args.base_cache.resolve(), target_is_directory=True)
        settings = Settings.model_validate({
            "home": str(home),
            "twins": [{"training": {"epochs": args.epochs, "max_length": 256, "checkpoint_steps": 0},
                       "promotion": {"gate_examples": 48}}],
        })
        db = Database(settings)
        data = generate(scale=args.scale)
        with db.connection() as conn:
            load_demo(conn, data)

        started = time.perf_counter()
        full = train_twin(settings, mode="full", db=db)
        full_s = time.perf_counter() - started

        his = sum(1 for e in data.emails if "allan" in e["sender_email"]) + len(data.deals) + len(data.notes)
        n_new = max(2, round(args.new_share * his))
        with psycopg.connect(db.url) as conn:
            load_demo(conn, generate_new(since=ANCHOR, seed=11, n_emails=n_new, n_messages_convs=0,
                                         n_deals=0, n_notes=0))
        started = time.perf_counter()
        nightly = train_twin(settings, mode="incremental", db=db)
        nightly_s = time.perf_counter() - started

    fm, nm = full.metrics, nightly.metrics
    print(f"baseline: full retrain        {full_s:7.1f} s  ({fm['examples']['train']} examples, {fm['steps']} steps,"
          f" {fm['tokens_seen']} tokens) -> {full.version.name}")
    print(f"nightly incremental ({n_new} new) {nightly_s:7.1f} s  ({nm['examples']['train']} examples = "
          f"{nm['selection']['new']} new + {nm['selection']['replay']} replay, {nm['steps']} steps) "
          f"-> {nightly.version.name}, {'promoted' if nightly.promoted else 'candidate'}")
    print(f"nightly run takes {nightly_s / full_s:.3f}x the time of a full retrain "
          f"({full_s / nightly_s:.1f}x faster)")


if __name__ == "__main__":
    main()
