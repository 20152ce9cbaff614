"""Forget requests end to end: real PostgreSQL, real training of the tiny model, the CLI and the HTTP API."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from typer.testing import CliRunner

from doppel.cli import app
from doppel.db import Database
from doppel.export.run import ForgottenDataError, check_exportable
from doppel.pipeline import train_twin
from doppel.privacy.forget import ForgetError, ForgetRequest, check_request, forget, list_requests
from doppel.registry import Registry, RegistryError
from doppel.runs import get_run
from tests.integration.service import Server
from tests.integration.test_service import write_config

FAST = {"max_steps": 2, "batch_size": 4, "max_length": 128, "eval_batches": 1, "epochs": 1}
PERSON = "allan@maverick-labs.com"
FORGOTTEN = "dana.whitlock@northwind-example.com"
ADMIN = "admin-token-0123456789abcdef"
READER = "reader-token-0123456789abcdef"


def add_emails(url: str) -> list[str]:
    """Three emails the person wrote to one contact (the one who will ask to be forgotten); returns their keys."""
    start = datetime(2024, 3, 1, tzinfo=UTC)
    rows = [
        (9_000_001, "Renewal", "Dana, the renewal terms are attached; call me before Friday.", FORGOTTEN),
        (9_000_002, "Pricing", "Dana, we can hold last year's price if you sign this quarter.", FORGOTTEN),
        (9_000_003, "Thanks", "Thanks Dana, good talking today. I will send the draft tonight.", FORGOTTEN),
    ]
    with psycopg.connect(url) as conn:
        for i, (id_, subject, body, to) in enumerate(rows):
            conn.execute(
                "INSERT INTO crm_emails (id, subject, body, sent_at, sender_email, recipient_email) "
                "VALUES (%s, %s, %s, %s, %s, %s)",
                (id_, subject, body, start + timedelta(days=i), PERSON, to),
            )
    return [f"emails:{r[0]}" for r in rows]


@pytest.fixture
def offline(monkeypatch):
    """Any connection from Python beyond this machine fails the test: nothing is sent out (no telemetry, no
    downloads). The database is reached through libpq on a local socket, which this does not touch."""
    import ipaddress
    import socket

    real_connect = socket.socket.connect

    def guarded(sock, address):
        host = address[0] if isinstance(address, tuple) else None
        if host is not None and host != "localhost" and not ipaddress.ip_address(host).is_loopback:
            raise AssertionError(f"doppel tried to reach {address} during a privacy run")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture
def tiny_settings(make_settings, tiny_model_dir, demo_db):
    return make_settings(base_model={"name": str(tiny_model_dir)}, training=FAST, promotion={"tolerance": 10.0})


def test_requests_are_checked_and_name_the_field():
    assert check_request("email", "  ann@x.com ") == "ann@x.com"
    for kind, value, field in [
        ("email", "not-an-address", "email"),
        ("record", "1234", "record"),
        ("contains", "ab", "contains"),
        ("name", "42", "name"),
        ("name", "", "name"),
        ("phone", "555", "kind"),
    ]:
        with pytest.raises(ForgetError, match=f"^{field}:"):
            check_request(kind, value)


def test_forget_leaves_records_out_marks_versions_and_export_refuses(tiny_settings, offline, caplog):
    caplog.set_level(logging.DEBUG)
    keys = add_emails(tiny_settings.database_url)
    registry = Registry(tiny_settings.resolved_models_dir)
    twin = tiny_settings.twins[0].name
    first = train_twin(tiny_settings)
    held = set(json.loads((first.version.path / "splits.json").read_text()))
    assert set(keys) <= held, "the contact's emails are in v1.0's data set"

    runner = CliRunner()
    result = runner.invoke(
        app, ["forget", "--email", FORGOTTEN.upper(), "--by", "dpo", "--json"], env=_env(tiny_settings)
    )
    assert result.exit_code == 0, result.output
    filed = json.loads(result.stdout)
    assert filed["matched"] == {twin: 3} and filed["versions_marked"] == {twin: ["v1.0"]}
    request_id = filed["request"]["id"]
    assert [r.value for r in list_requests(Database(tiny_settings), twin)] == [FORGOTTEN.upper()]

    # Every face shows the mark; export refuses without force.
    row = registry.describe(twin)[0]
    assert row["forgotten"] == [request_id]
    listed = runner.invoke(app, ["versions"], env=_env(tiny_settings))
    assert "v1.0" in listed.output and f"#{request_id}" in listed.output
    with pytest.raises(ForgottenDataError, match="--force"):
        check_exportable(tiny_settings, first.version)
    check_exportable(tiny_settings, first.version, force=True)
    refused = runner.invoke(app, ["export", "v1.0"], env=_env(tiny_settings))
    assert refused.exit_code == 1 and "forget request" in refused.output

    # The next full retrain has none of them, is not marked, and the card counts what was left out.
    second = train_twin(tiny_settings)
    held = set(json.loads((second.version.path / "splits.json").read_text()))
    assert not set(keys) & held
    card = json.loads((second.version.path / "dataset_card.json").read_text())
    assert card["privacy"]["forget"] == {"requests": 1, "records_left_out": {"emails": 3}}
    assert second.version.manifest["privacy"]["forget"]["records_left_out"] == {"emails": 3}
    marks = {r["version"]: r["forgotten"] for r in registry.describe(twin)}
    assert marks == {"v1.0": [request_id], "v2.0": []}
    check_exportable(tiny_settings, second.version)

    # Old versions can be deleted; final cannot, and a deleted name is never given again.
    with pytest.raises(RegistryError, match="final"):
        registry.delete(twin, "v2.0")
    deleted = runner.invoke(app, ["versions", "--delete", "v1.0"], env=_env(tiny_settings))
    assert deleted.exit_code == 0 and "deleted" in deleted.output
    assert [v.name for v in registry.versions(twin)] == ["v2.0"] and registry.forgotten_marks(twin) == {}
    assert registry.next_name(twin, "full") == "v3.0"
    assert registry.next_name(twin, "incremental", parent="v2.0") == "v2.1"

    # Message bodies never reach a log above debug (training, privacy, forget and the registry all logged here).
    logged = "\n".join(r.getMessage() for r in caplog.records if r.levelno > logging.DEBUG)
    assert logged and "renewal terms" not in logged and "last year's price" not in logged


def test_forget_by_name_record_and_phrase_match_what_they_say(tiny_settings):
    keys = add_emails(tiny_settings.database_url)
    db = Database(tiny_settings)
    by_record = forget(tiny_settings, db, ForgetRequest(kind="record", value=keys[0]))
    by_phrase = forget(tiny_settings, db, ForgetRequest(kind="contains", value="LAST YEAR'S PRICE"))
    by_name = forget(tiny_settings, db, ForgetRequest(kind="name", value="Dana Whitlock"))
    twin = tiny_settings.twins[0].name
    assert by_record.matched == {twin: 1} and by_phrase.matched == {twin: 1}
    # The address's name ("dana.whitlock") is the person's: all three of her emails.
    assert by_name.matched[twin] >= 3
    nothing = forget(tiny_settings, db, ForgetRequest(kind="contains", value="no record says this, surely"))
    assert nothing.matched == {twin: 0} and nothing.marked == {twin: []}

    # --retrain queues a full run at once, for a worker (none runs here: it stays queued).
    queued = CliRunner().invoke(
        app, ["forget", "--contains", "hold last year", "--retrain", "--json"], env=_env(tiny_settings)
    )
    assert queued.exit_code == 0, queued.output
    run_id = json.loads(queued.stdout)["retrain_runs"][twin]
    run = get_run(db, run_id)
    assert run.state == "queued" and run.mode == "full" and run.trigger == "forget"


def test_forget_over_http_needs_an_admin_token_and_names_bad_fields(tmp_path, home, demo_db, tiny_model_dir):
    add_emails(demo_db)
    config = write_config(
        tmp_path / "doppel.toml",
        home,
        demo_db,
        tiny_model_dir,
        max_steps=2,
        extra=f'tokens = ["{READER}"]\nadmin_tokens = ["{ADMIN}"]\n',
    )
    from doppel.config import load_settings

    train_twin(load_settings(config))
    server = Server(config, tmp_path / "serve.log", "--no-worker").wait_ready()
    try:
        c = server.client
        reader = {"Authorization": f"Bearer {READER}"}
        admin = {"Authorization": f"Bearer {ADMIN}"}
        assert c.post("/api/forget", json={"email": FORGOTTEN}).status_code == 401
        assert c.post("/api/forget", json={"email": FORGOTTEN}, headers=reader).status_code == 403
        assert c.get("/api/forget", headers=reader).status_code == 403
        bad = c.post("/api/forget", json={"email": "nobody"}, headers=admin)
        assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "email"]
        two = c.post("/api/forget", json={"email": FORGOTTEN, "name": "Dana"}, headers=admin)
        assert two.status_code == 422 and "exactly one" in two.text

        filed = c.post("/api/forget", json={"email": FORGOTTEN, "requested_by": "dpo", "retrain": True}, headers=admin)
        assert filed.status_code == 201, filed.text
        body = filed.json()
        assert body["matched"] == {"allan-maverick": 3} and body["versions_marked"] == {"allan-maverick": ["v1.0"]}
        run = body["retrain_runs"]["allan-maverick"]["job_id"]
        assert c.get("/api/training/status", params={"job_id": run}, headers=reader).json()["state"] == "queued"

        versions = c.get("/api/versions", headers=reader).json()["versions"]
        assert versions[0]["forgotten"] == [body["request"]["id"]]
        listed = c.get("/api/forget", headers=admin).json()["requests"]
        assert [(r["kind"], r["value"], r["requested_by"]) for r in listed] == [("email", FORGOTTEN, "dpo")]
        assert c.delete("/api/versions/final", headers=admin).status_code == 409
        assert c.delete("/api/versions/v1.0", headers=reader).status_code == 403
        assert c.delete("/api/versions/v9.9", headers=admin).status_code == 404
        log = server.output()
        assert "Traceback" not in log and "renewal terms" not in log
    finally:
        server.stop()


def _env(settings) -> dict[str, str]:
    """The CLI on the test's settings: the same home and database, through the environment."""
    twin = settings.twins[0]
    return {
        "DOPPEL_HOME": str(settings.home),
        "DOPPEL_DATABASE_URL": settings.database_url,
        "DOPPEL_CONFIG": _config_file(settings, twin),
    }


def _config_file(settings, twin) -> str:
    import tomllib  # noqa: F401  (the file is TOML; written by hand to keep the test readable)

    path = settings.home / "doppel.toml"
    training = "\n".join(f"{k} = {v}" for k, v in FAST.items())
    path.write_text(
        f'[[twins]]\nname = "{twin.name}"\n[twins.base_model]\nname = "{twin.base_model.name}"\n'
        f"[twins.training]\n{training}\n[twins.promotion]\ntolerance = 10.0\n"
    )
    return str(path)
