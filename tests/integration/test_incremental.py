"""Continuous learning on a real PostgreSQL: nightly increments, nothing new, the promotion gate."""

import psycopg
import pytest

from doppel.dataset import read_splits
from doppel.demo.load import load_demo
from doppel.demo.persona import ANCHOR, generate_new
from doppel.pipeline import train_twin
from doppel.registry import Registry

FAST = {"max_steps": 4, "batch_size": 4, "max_length": 128, "eval_batches": 2, "epochs": 1, "learning_rate": 2e-2}


@pytest.fixture
def tiny(make_settings, tiny_model_dir, demo_db):
    def _settings(**extra):
        return make_settings(base_model={"name": str(tiny_model_dir)}, training=FAST, **extra)

    return _settings


def test_nightly_run_learns_only_new_records_then_finds_nothing_new(tiny, demo_db):
    settings = tiny(promotion={"tolerance": 10.0}, incremental={"replay_ratio": 0.5})
    first = train_twin(settings, mode="incremental")  # no final yet: falls back to a full run
    assert first.mode == "full" and first.version.name == "v1.0"
    assert set(first.version.manifest["data_until"]) == {"emails", "conversations", "deals", "notes"}

    with psycopg.connect(demo_db) as conn:
        load_demo(conn, generate_new(since=ANCHOR, seed=3, n_emails=12, n_deals=4, n_notes=6))
    second = train_twin(settings, mode="incremental")
    assert second.version.name == "v1.1" and second.promoted
    assert second.version.manifest["parent"] == "v1.0" and second.version.manifest["mode"] == "incremental"
    sel = second.metrics["selection"]
    assert 0 < sel["new"] < 40 and sel["replay"] == -(-sel["new"] // 2)
    new_keys = {e.key for e in second.dataset.train_examples[: sel["new"]]}
    assert all(e.timestamp > ANCHOR for e in second.dataset.train_examples if e.key in new_keys)
    assert second.dataset.card["selection"]["parent"] == "v1.0"
    # It started from v1.0's adapter: its loss before training is v1.0's on the same set.
    assert second.metrics["parent_val_loss"] == pytest.approx(second.metrics["gate"]["final_val_loss"])
    assert Registry(settings.resolved_models_dir).get("allan-maverick").name == "v1.1"
    # Every example v1.0 knew stays on its side; the new ones are only added.
    before, after = read_splits(first.version.path), read_splits(second.version.path)
    assert before and all(after[k] == side for k, side in before.items() if k in after)
    assert len(after) > len(before)
    assert second.dataset.card["leak_check"]["exact"] == second.dataset.card["leak_check"]["near"] == 0

    third = train_twin(settings, mode="incremental")
    assert third.version is None and third.message == "nothing new since v1.1"
    assert [v.name for v in Registry(settings.resolved_models_dir).versions("allan-maverick")] == ["v1.0", "v1.1"]


def test_gate_refuses_a_worse_model_and_keeps_final(tiny):
    settings = tiny()
    train_twin(settings, overrides={"max_steps": 20})
    # One step at a tiny learning rate is all but the bare base model: clearly worse than v1.0.
    ruined = train_twin(settings, overrides={"learning_rate": 1e-7, "max_steps": 1})
    gate = ruined.metrics["gate"]
    assert not ruined.promoted and not gate["passed"] and gate["compared_with"] == "v1.0"
    assert gate["val_loss"] > gate["final_val_loss"] * 1.02
    assert "kept as a candidate" in ruined.message and "worse than v1.0" in ruined.message
    reg = Registry(settings.resolved_models_dir)
    assert reg.get("allan-maverick").name == "v1.0"
    assert [v.name for v in reg.versions("allan-maverick")] == ["v1.0", "v2.0"]
    # Promotion by hand always works.
    reg.promote("allan-maverick", "v2.0")
    assert reg.get("allan-maverick").name == "v2.0"
