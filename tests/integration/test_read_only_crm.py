"""A CRM doppel may only read: its own tables and the queue live in `state_database_url`, and the CRM sees
nothing but SELECTs (the role used has no other right there, so any write would fail the run)."""

from __future__ import annotations

import uuid

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from doppel.demo.load import load_demo
from doppel.demo.persona import generate
from doppel.doctor import run_checks
from doppel.pipeline import train_twin


def test_training_on_a_read_only_crm_keeps_state_elsewhere(pg_server, make_settings, tiny_model_dir):
    suffix = uuid.uuid4().hex[:8]
    crm, state, reader = f"crm_{suffix}", f"state_{suffix}", f"reader_{suffix}"
    admin = pg_server.get_uri()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{crm}"')
        conn.execute(f'CREATE DATABASE "{state}"')
        conn.execute(f"CREATE ROLE \"{reader}\" LOGIN PASSWORD 'read-only'")
    with psycopg.connect(pg_server.get_uri(crm)) as conn:
        load_demo(conn, generate(seed=7, scale=0.2))
        conn.execute(f'GRANT USAGE ON SCHEMA public TO "{reader}"')
        conn.execute(f'GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{reader}"')
    read_only = make_conninfo(pg_server.get_uri(crm), user=reader, password="read-only")
    assert conninfo_to_dict(read_only)["user"] == reader
    with psycopg.connect(read_only) as conn:  # the premise: this role cannot create doppel's schema
        try:
            conn.execute("CREATE SCHEMA doppel")
            raise AssertionError("the reader role should not be able to create a schema")
        except psycopg.errors.InsufficientPrivilege:
            pass

    settings = make_settings(
        base_model={"name": str(tiny_model_dir)},
        training={"max_steps": 2, "max_length": 128, "eval_batches": 1},
        promotion={"tolerance": 10.0},
    ).model_copy(update={"database_url": read_only, "state_database_url": pg_server.get_uri(state)})
    outcome = train_twin(settings)
    assert outcome.promoted and outcome.version.name == "v1.0"

    with psycopg.connect(pg_server.get_uri(crm)) as conn:
        assert conn.execute("SELECT count(*) FROM pg_namespace WHERE nspname = 'doppel'").fetchone()[0] == 0
    with psycopg.connect(pg_server.get_uri(state)) as conn:
        runs = conn.execute("SELECT state, version FROM doppel.runs").fetchall()
    assert runs == [("succeeded", "v1.0")]
    checks = {c.name: c.status for c in run_checks(settings)}
    assert checks["CRM database"] == "ok" and checks["state database"] == "ok"
