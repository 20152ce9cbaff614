"""Importing a large mbox: messages/s and peak memory, doppel's streaming import against the naive one.

    python benchmarks/import_mbox.py                         # 1 GiB mbox once per side, then 5 repeats of 64 MiB
    python benchmarks/import_mbox.py --big-mb 64 --slice-mb 8 --repeats 2   # quick check that it runs

Sides, each in a fresh Python process (so each peak RSS is its own) importing into a fresh database on the
same embedded PostgreSQL (so neither finds the other's rows, or its own from an earlier repeat):
- baseline "naive": what a short script does: ``list(mailbox.mbox(path))`` (every message in memory), then
  ``email`` to decode each, one INSERT per message;
- "doppel": ``doppel.importers`` (headers pass for the person, then one message at a time, batched INSERTs).

The mbox is generated from a fixed seed: ~5 KB messages with a text and an HTML part, some quoted-printable,
one in twenty with a base64 attachment, threads of replies. The big file is imported once per side for the
memory figure (the naive side may be skipped with --skip-naive-big: it needs memory near the file's size);
the timed comparison repeats on a slice.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from timing import Metric, add_arguments, compare, report  # noqa: E402

WORDS = (
    "contract renewal pricing quarter forecast meeting draft schedule invoice budget approval rollout pilot "
    "customer supplier shipment warehouse signature review legal finance team launch deadline update report"
).split()


def generate(path: Path, megabytes: int, seed: int = 7) -> int:
    """Write an mbox of about ``megabytes`` MiB; returns how many messages."""
    rng = random.Random(seed)
    start = 1_700_000_000
    written = n = 0
    with path.open("wb") as fh:
        while written < megabytes * 1024 * 1024:
            msg = EmailMessage()
            sender = rng.choice(["ann.lee@example.com", "bo.chen@client.org", "cy.diaz@vendor.net"])
            msg["From"] = sender
            msg["To"] = "team@example.com"
            msg["Subject"] = ("Re: " if n % 3 else "") + " ".join(rng.choices(WORDS, k=4))
            msg["Date"] = format_datetime(datetime.fromtimestamp(start + n * 60, tz=UTC))
            msg["Message-ID"] = f"<bench{n}@example.com>"
            if n % 3:
                msg["In-Reply-To"] = f"<bench{n - 1}@example.com>"
            paragraphs = [" ".join(rng.choices(WORDS, k=60)).capitalize() + "." for _ in range(6)]
            text = "\n\n".join(paragraphs)
            msg.set_content(text, cte="quoted-printable" if n % 2 else "7bit")
            msg.add_alternative("".join(f"<p>{p}</p>" for p in paragraphs), subtype="html")
            if n % 20 == 0:
                msg.add_attachment(
                    rng.randbytes(2048), maintype="application", subtype="octet-stream", filename="a.bin"
                )
            data = msg.as_bytes()
            fh.write(b"From MAILER-DAEMON Thu Jan  1 00:00:00 2025\n" + data.replace(b"\nFrom ", b"\n>From ") + b"\n")
            written += len(data)
            n += 1
    return n


NAIVE = """
import email, email.policy, mailbox, resource, sys, time, json, psycopg
path, url = sys.argv[1], sys.argv[2]
t0 = time.perf_counter()
messages = list(mailbox.mbox(path))
with psycopg.connect(url) as conn:
    conn.execute("CREATE TABLE IF NOT EXISTS mail (id TEXT PRIMARY KEY, sender TEXT, subject TEXT, body TEXT)")
    for m in messages:
        msg = email.message_from_bytes(m.as_bytes(), policy=email.policy.default)
        part = msg.get_body(preferencelist=("plain", "html"))
        body = part.get_content() if part is not None else ""
        conn.execute("INSERT INTO mail VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
                     (str(msg["Message-ID"]), str(msg["From"]), str(msg["Subject"]), body))
print(json.dumps({"seconds": time.perf_counter() - t0, "messages": len(messages),
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

DOPPEL = """
import json, resource, sys, time
from pathlib import Path
from doppel.config import Settings
from doppel.db import Database
from doppel.importers import find_person, import_mail
path, url = Path(sys.argv[1]), sys.argv[2]
t0 = time.perf_counter()
db = Database(Settings.model_validate({"database_url": url, "home": sys.argv[3]}))
report = import_mail(db, "mbox", path, find_person("mbox", path, ["ann.lee@example.com"]))
print(json.dumps({"seconds": time.perf_counter() - t0, "messages": report.written,
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run_side(code: str, mbox: Path, server_url: str, home: str) -> dict[str, float]:
    import psycopg

    name = f"bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = server_url.rsplit("/", 1)[0] + f"/{name}" if "?" not in server_url else _with_db(server_url, name)
    try:
        out = subprocess.run(
            [sys.executable, "-c", code, str(mbox), url, home], check=True, capture_output=True, text=True
        ).stdout
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{name}"')
    result = json.loads(out.strip().splitlines()[-1])
    result["messages_per_second"] = result["messages"] / result["seconds"]
    return result


def _with_db(url: str, name: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--big-mb", type=int, default=1024, help="Size of the mbox imported once per side")
    parser.add_argument("--slice-mb", type=int, default=64, help="Size of the mbox of the timed repeats")
    parser.add_argument("--skip-naive-big", action="store_true", help="Import the big mbox with doppel only")
    add_arguments(parser, warmup=0)
    args = parser.parse_args()
    from doppel.config import Settings
    from doppel.db import Database

    with tempfile.TemporaryDirectory(prefix="doppel-bench-import-") as tmp:
        home = Path(tmp) / "home"
        server_url = Database(Settings.model_validate({"home": str(home)})).url
        small, big = Path(tmp) / "slice.mbox", Path(tmp) / "big.mbox"
        t0 = time.perf_counter()
        count = generate(small, args.slice_mb)
        print(f"slice: {count} messages, {small.stat().st_size / 2**20:.0f} MiB ({time.perf_counter() - t0:.0f} s)")
        sides = [
            ("naive", lambda i: run_side(NAIVE, small, server_url, str(home))),
            ("doppel", lambda i: run_side(DOPPEL, small, server_url, str(home))),
        ]
        samples = compare(sides, args.repeats, warmup=args.warmup)
        report(
            samples,
            [
                Metric("messages_per_second", "messages imported per second", "msg/s", higher_is_better=True),
                Metric("peak_mib", "peak memory of the importing process", "MiB"),
            ],
            title=f"import of a {args.slice_mb} MiB mbox ({count} messages)",
        )
        t0 = time.perf_counter()
        count = generate(big, args.big_mb)
        print(f"\nbig: {count} messages, {big.stat().st_size / 2**20:.0f} MiB ({time.perf_counter() - t0:.0f} s)")
        for name, code in (("doppel", DOPPEL), ("naive", NAIVE)):
            if name == "naive" and args.skip_naive_big:
                continue
            r = run_side(code, big, server_url, str(home))
            print(
                f"{name:>7}: {r['messages']} messages in {r['seconds']:.0f} s ({r['messages_per_second']:.0f} msg/s), "
                f"peak memory {r['peak_mib']:.0f} MiB"
            )
        os.sync()


if __name__ == "__main__":
    main()
