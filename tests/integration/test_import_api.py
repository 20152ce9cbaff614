"""POST /api/import against a real `doppel serve`: upload, watch, counts; tokens and limits."""

from __future__ import annotations

import io
import zipfile

import psycopg

from tests.integration.service import Server, wait_for
from tests.integration.test_import_chats import slack
from tests.integration.test_import_mail import fixtures, write_mbox
from tests.integration.test_service import write_config

ADMIN = "admin-token-0123456789abcdef"
READER = "reader-token-0123456789abcdef"


def test_upload_an_export_and_watch_it_import(tmp_path, home, demo_db, tiny_model_dir):
    config = write_config(
        tmp_path / "doppel.toml",
        home,
        demo_db,
        tiny_model_dir,
        extra=f'tokens = ["{READER}"]\nadmin_tokens = ["{ADMIN}"]\nmax_import_bytes = 200000\n',
    )
    server = Server(config, tmp_path / "serve.log", "--no-worker").wait_ready()
    try:
        c = server.client
        admin = {"Authorization": f"Bearer {ADMIN}"}
        mbox = write_mbox(tmp_path / "takeout.mbox", fixtures()).read_bytes()
        assert c.post("/api/import?format=mbox", content=mbox).status_code == 401
        assert (
            c.post("/api/import?format=mbox", content=mbox, headers={"Authorization": f"Bearer {READER}"}).status_code
            == 403
        )
        bad = c.post("/api/import?format=pst", content=mbox, headers=admin)
        assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "format"]
        assert c.post("/api/import?format=mbox", content=b"x" * 200_001, headers=admin).status_code == 413

        started = c.post(
            "/api/import", params={"format": "mbox", "me": "ann.lee@example.com"}, content=mbox, headers=admin
        )
        assert started.status_code == 202, started.text
        url = started.json()["status_url"]
        job = wait_for(lambda: (j := c.get(url, headers=admin).json())["state"] != "running" and j, 60, "the import")
        assert job["state"] == "succeeded", job
        assert job["report"]["written"] == 5 and job["report"]["skipped"] == {"unknown charset": 1}
        assert job["person"] == {"who": ["ann.lee@example.com"], "messages": 4, "guessed": False}
        with psycopg.connect(demo_db) as conn:
            assert conn.execute("SELECT count(*) FROM crm_emails WHERE message_id IS NOT NULL").fetchone()[0] == 5
        assert not list((home / "imports").iterdir()), "the uploaded file is deleted once imported"

        # A zipped Slack export, and a file that is not what it says: the job fails naming the problem.
        buffer = io.BytesIO()
        export = slack(tmp_path / "slack")
        with zipfile.ZipFile(buffer, "w") as archive:
            for path in export.rglob("*"):
                archive.write(path, f"slack/{path.relative_to(export)}")
        zipped = c.post(
            "/api/import", params={"format": "slack", "me": "Ann Lee"}, content=buffer.getvalue(), headers=admin
        )
        done = wait_for(
            lambda: (j := c.get(zipped.json()["status_url"], headers=admin).json())["state"] != "running" and j,
            60,
            "slack",
        )
        assert done["state"] == "succeeded" and done["report"]["written"] == 4 and done["report"]["conversations"] == 2
        wrong = c.post("/api/import", params={"format": "telegram"}, content=b"{not json", headers=admin)
        failed = wait_for(
            lambda: (j := c.get(wrong.json()["status_url"], headers=admin).json())["state"] != "running" and j,
            60,
            "bad",
        )
        assert failed["state"] == "failed" and "not valid JSON at line 1" in failed["error"]
        assert str(home) not in failed["error"]
        log = server.output()
        assert "Traceback" not in log and "hold the price" not in log
    finally:
        server.stop()
