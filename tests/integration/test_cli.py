"""The doppel command, run in-process against the test database with the tiny model."""

import json

import pytest
from typer.testing import CliRunner

from doppel.cli import app

runner = CliRunner()


@pytest.fixture
def config(tmp_path, home, database_url, tiny_model_dir):
    path = tmp_path / "doppel.toml"
    path.write_text(
        f'home = "{home}"\ndatabase_url = "{database_url}"\n\n[[twins]]\nname = "allan-maverick"\n'
        f'[twins.base_model]\nname = "{tiny_model_dir}"\n'
        "[twins.training]\nmax_steps = 2\nmax_length = 128\neval_batches = 1\n"
    )
    return path


def run(*args):
    result = runner.invoke(app, [str(a) for a in args])
    return result.exit_code, result.output


def test_train_versions_chat_on_demo_data(config, demo_db):
    code, out = run("train", "--full", "--config", config)
    assert code == 0, out
    assert "v1.0" in out and "is final" in out and "val loss" in out

    code, out = run("versions", "--json", "--config", config)
    rows = json.loads(out)
    assert code == 0 and [(r["version"], r["final"]) for r in rows] == [("v1.0", True)]
    assert rows[0]["steps"] == 2 and rows[0]["val_loss"] is not None

    code, out = run(
        "chat",
        "Acme wants 30% off. What do we say?",
        "--config",
        config,
        "--max-new-tokens",
        5,
        "--context",
        "deal_amount=50000",
    )
    assert code == 0, out
    assert "allan-maverick v1.0" in out


def test_collect_and_dataset(config, demo_db, tmp_path):
    code, out = run("collect", "--config", config)
    assert code == 0, out
    assert "emails" in out and "conversations" in out and "deals" in out and "notes" in out

    code, out = run("dataset", "--config", config, "--out", tmp_path / "ds")
    assert code == 0, out
    train = [json.loads(line) for line in (tmp_path / "ds" / "train.jsonl").read_text().splitlines()]
    val = [json.loads(line) for line in (tmp_path / "ds" / "val.jsonl").read_text().splitlines()]
    assert train and val and not {r["key"] for r in train} & {r["key"] for r in val}
    assert all(r["messages"][-1]["role"] == "assistant" for r in train)
    card = json.loads((tmp_path / "ds" / "dataset_card.json").read_text())
    assert card["examples"] == {"train": len(train), "val": len(val)}


def test_doctor_passes_on_a_loaded_database_and_fails_on_an_empty_one(config, database_url):
    code, out = run("doctor", "--config", config)
    assert code == 1 and "crm_emails" in out and "twins.sources.emails.table" in out, out

    import psycopg

    from doppel.demo.load import load_demo
    from doppel.demo.persona import generate

    with psycopg.connect(database_url) as conn:
        load_demo(conn, generate(scale=0.1))
    code, out = run("doctor", "--config", config)
    assert code == 0, out
    assert "fail" not in out


def test_bad_config_and_bad_flags_give_clear_errors(tmp_path, config, demo_db):
    bad = tmp_path / "bad.toml"
    bad.write_text('[[twins]]\nname = "x"\n[twins.lora]\nrank = 8\n')
    code, out = run("versions", "--config", bad)
    assert code == 1 and "twins.0.lora.rank: unknown key" in out

    code, out = run("train", "--config", config, "--epochs", 0)
    assert code == 1 and "--epochs" in out

    code, out = run("chat", "hello", "--config", config)
    assert code == 1 and "no final version" in out
