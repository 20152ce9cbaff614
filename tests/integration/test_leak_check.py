"""No validation target sits in training, word for word or as a near copy, on every data set doppel builds here.

The demo persona and the real people of ../shared/data are loaded into a real
PostgreSQL and built exactly as a training run builds them; the leak check is
the data-set card's own line, and an independent brute-force pass confirms it.
"""

from __future__ import annotations

import psycopg
import pytest

from doppel.config import Settings
from doppel.dataset.duplicates import NEAR_JACCARD, jaccard, normalise, shingles
from doppel.dataset.examples import build_examples
from doppel.db import Database
from doppel.pipeline import collect_records
from tests.e2e.enron import load_mailbox
from tests.e2e.panza import load_panza

EMAILS_ONLY = {"conversations": {"enabled": False}, "deals": {"enabled": False}, "notes": {"enabled": False}}


def built_for(database_url: str, home, **twin) -> tuple:
    settings = Settings.model_validate({"home": str(home), "database_url": database_url, "twins": [twin]})
    cfg = settings.twins[0]
    records = collect_records(Database(settings), cfg)
    return records, build_examples(
        records, cfg.persona, min_chars=cfg.training.min_chars, val_fraction=cfg.training.val_fraction
    )


def assert_no_leak(built) -> dict:
    from doppel.dataset.card import leak_check

    train, val = [e.target for e in built.train], [e.target for e in built.val]
    assert val, "no validation examples to check"
    found = leak_check(train, val)
    assert found["exact"] == 0 and found["near"] == 0, found
    # Brute force, no LSH: every val target against every train target.
    train_norm = {normalise(t) for t in train}
    train_sh = [shingles(t) for t in train]
    for text in val:
        assert normalise(text) not in train_norm
        sh = shingles(text)
        assert all(jaccard(sh, other) < NEAR_JACCARD for other in train_sh)
    # And no thread (group) has examples on both sides.
    return found


def test_demo_persona_has_no_leak(database_url, home):
    from doppel.demo.load import load_demo
    from doppel.demo.persona import generate

    with psycopg.connect(database_url) as conn:
        load_demo(conn, generate(seed=7))
    records, built = built_for(database_url, home)
    found = assert_no_leak(built)
    groups: dict[str, set] = {}
    by_key = {e.key: e.split for e in built.examples}
    for r in records:
        if r.key in by_key:
            groups.setdefault(r.group, set()).add(by_key[r.key])
    assert all(len(sides) == 1 for sides in groups.values())
    print(f"\ndemo persona: {len(built.train)} train / {len(built.val)} val, leak {found}, dropped {built.dropped}")


@pytest.mark.realdata
@pytest.mark.parametrize("person", ["rapp-b", "sanchez-m", "townsend-j"])
def test_enron_people_have_no_leak(database_url, home, shared_data, person):
    owner = f"{person}@enron.example"
    with psycopg.connect(database_url) as conn:
        load_mailbox(conn, shared_data / "enron" / f"{person}.jsonl", owner)
    _, built = built_for(database_url, home, name=person, persona={"email_pattern": owner}, sources=EMAILS_ONLY)
    found = assert_no_leak(built)
    print(f"\nenron {person}: {len(built.train)} train / {len(built.val)} val, leak {found}, dropped {built.dropped}")


@pytest.mark.realdata
@pytest.mark.parametrize("person,other", [("kay_brown", "jeff_johnson"), ("jeff_johnson", "kay_brown")])
def test_panza_people_have_no_leak(database_url, home, shared_data, person, other):
    address = f"{person}@panza.example"
    with psycopg.connect(database_url) as conn:
        load_panza(conn, shared_data / "panza" / f"{person}.jsonl", [shared_data / "panza" / f"{other}.jsonl"], address)
    _, built = built_for(
        database_url, home, name=person.replace("_", "-"), persona={"email_pattern": address}, sources=EMAILS_ONLY
    )
    found = assert_no_leak(built)
    print(f"\npanza {person}: {len(built.train)} train / {len(built.val)} val, leak {found}, dropped {built.dropped}")
