"""`doppel import` for mailboxes, on real PostgreSQL: files in real formats written here, and the shared Enron
mailboxes written back into a maildir."""

from __future__ import annotations

import email.utils
import hashlib
import json
import mailbox
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from doppel.cli import app
from doppel.db import Database
from doppel.importers import ImportProblem, Person, find_person, import_mail

ME = "Ann Lee <ann.lee@example.com>"
START = datetime(2024, 5, 6, 9, 0, tzinfo=UTC)


def message(n: int, sender: str, to: str, subject: str, *, parent: str | None = None) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, to, subject
    msg["Date"] = email.utils.format_datetime(START + timedelta(hours=n))
    msg["Message-ID"] = f"<m{n}@example.com>"
    if parent:
        msg["In-Reply-To"] = parent
        msg["References"] = f"<m0@example.com> {parent}" if parent != "<m0@example.com>" else parent
    return msg


def fixtures() -> list[tuple[EmailMessage, str]]:
    """(message, Gmail label): a thread of three, every MIME shape worth decoding, and one unreadable."""
    first = message(0, "Bo Chen <bo@client.org>", ME, "Renewal")
    first.set_content("Can you hold last year's price for the renewal?")
    plain = message(1, ME, "Bo Chen <bo@client.org>", "Re: Renewal", parent="<m0@example.com>")
    plain.set_content(
        "Bo, we can hold the price if you sign by Friday. Café au lait on me.",
        charset="latin-1",
        cte="quoted-printable",
    )
    both = message(2, "Bo Chen <bo@client.org>", ME, "Re: Renewal", parent="<m1@example.com>")
    both.set_content("Deal. Sending the form today.")
    both.add_alternative("<p>Deal. <b>Sending</b> the form today.</p>", subtype="html")
    html_only = message(3, ME, "team@example.com", "Launch")
    html_only.set_content(
        "<html><head><style>p{color:red}</style></head><body><p>Launch is on&nbsp;Monday.</p>"
        "<ul><li>Docs ready</li><li>Pricing final</li></ul></body></html>",
        subtype="html",
    )
    attached = message(4, ME, "Bo Chen <bo@client.org>", "Form")
    attached.set_content("The signed form is attached. Thanks for the quick turnaround.", cte="base64")
    attached.add_attachment(b"%PDF-1.4 fake", maintype="application", subtype="pdf", filename="form.pdf")
    broken = message(5, ME, "x@example.com", "Odd")
    broken.set_content("placeholder")
    broken.replace_header("Content-Type", 'text/plain; charset="x-no-such-charset"')
    return [
        (first, "Inbox"),
        (plain, "Sent"),
        (both, "Inbox"),
        (html_only, "Sent"),
        (attached, "Sent"),
        (broken, "Sent"),
    ]


def write_mbox(path: Path, items: list[tuple[EmailMessage, str]]) -> Path:
    box = mailbox.mbox(path)
    for msg, label in items:
        msg["X-Gmail-Labels"] = label
        box.add(msg)
    box.flush()
    box.close()
    return path


def rows(url: str) -> dict[str, tuple]:
    with psycopg.connect(url) as conn:
        found = conn.execute(
            "SELECT message_id, subject, body, in_reply_to, thread_id, id FROM crm_emails ORDER BY sent_at"
        ).fetchall()
    return {r[0]: r[1:] for r in found}


def test_mbox_is_decoded_threaded_and_imported_once(tmp_path, make_settings, database_url):
    settings = make_settings()
    db = Database(settings)
    mbox = write_mbox(tmp_path / "takeout.mbox", fixtures())
    person = find_person("mbox", mbox)
    assert person.guessed and person.addresses == {"ann.lee@example.com"} and person.messages == 4
    report = import_mail(db, "mbox", mbox, person)
    assert (report.read, report.written, report.already_there) == (6, 5, 0)
    assert report.skipped == {"unknown charset": 1} and report.attachments == 1 and report.replies_linked == 2
    got = rows(database_url)
    assert "Café au lait" in got["<m1@example.com>"][1]  # quoted-printable latin-1
    assert got["<m2@example.com>"][1] == "Deal. Sending the form today."  # the text part, not the HTML
    launch = got["<m3@example.com>"][1]
    assert "Launch is on Monday." in launch and "- Docs ready\n- Pricing final" in launch and "color" not in launch
    assert "signed form is attached" in got["<m4@example.com>"][1]  # base64
    ids = {mid: r[4] for mid, r in got.items()}
    assert (
        got["<m1@example.com>"][2] == ids["<m0@example.com>"] and got["<m2@example.com>"][2] == ids["<m1@example.com>"]
    )
    assert {got[m][3] for m in ("<m0@example.com>", "<m1@example.com>", "<m2@example.com>")} == {"<m0@example.com>"}

    again = import_mail(db, "mbox", mbox, person)
    assert (again.written, again.already_there) == (0, 5)

    # A newer export holds everything plus one new reply: only that one is added, and it links to its parent.
    newer_msg = message(6, "Bo Chen <bo@client.org>", ME, "Re: Launch", parent="<m3@example.com>")
    newer_msg.set_content("Congratulations on the launch!")
    newer = write_mbox(tmp_path / "newer.mbox", [*fixtures(), (newer_msg, "Inbox")])
    third = import_mail(db, "mbox", newer, person)
    assert (third.written, third.already_there, third.replies_linked) == (1, 5, 1)


def test_the_twin_reads_imported_mail_as_real_replies(tmp_path, make_settings, database_url):
    from doppel.dataset.examples import build_examples
    from doppel.sources import read_records

    settings = make_settings(
        persona={"name": "Ann Lee", "email_pattern": "%ann.lee@example.com%"},
        sources={"conversations": {"enabled": False}, "deals": {"enabled": False}, "notes": {"enabled": False}},
    )
    mbox = write_mbox(tmp_path / "takeout.mbox", fixtures())
    db = Database(settings)
    import_mail(db, "mbox", mbox, find_person("mbox", mbox))
    records = {r.source_id: r for r in read_records(db, settings.twins[0])}
    assert len(records) == 3  # her three readable emails
    reply = next(r for r in records.values() if "hold the price" in r.text)
    assert reply.fields["prompt_kind"] == "reply" and "last year's price" in reply.history[-1].text
    built = build_examples(list(records.values()), settings.twins[0].persona, min_chars=5, val_fraction=0.0)
    assert sum(1 for e in built.examples if e.meta.get("prompt_kind") == "reply") >= 1


def test_a_wrong_format_stops_before_writing_and_names_the_file_and_line(tmp_path, make_settings, database_url):
    settings = make_settings()
    fake = tmp_path / "export.mbox"
    fake.write_text('\n{"messages": []}\n')
    with pytest.raises(ImportProblem, match=r"export\.mbox: line 2 is not an mbox"):
        find_person("mbox", fake)
    with pytest.raises(ImportProblem, match="export.mbox: line 2"):
        import_mail(Database(settings), "mbox", fake, Person({"a@b.c"}, set()))
    with psycopg.connect(database_url) as conn:  # the transaction rolled back: not even the table was made
        assert conn.execute("SELECT to_regclass('crm_emails')").fetchone()[0] is None


def test_cli_prints_the_person_before_writing_and_says_how_to_point_the_twin(tmp_path, make_settings, database_url):
    settings = make_settings()
    mbox = write_mbox(tmp_path / "takeout.mbox", fixtures())
    env = {"DOPPEL_HOME": str(settings.home), "DOPPEL_DATABASE_URL": database_url, "DOPPEL_CONFIG": ""}
    result = CliRunner().invoke(app, ["import", "mbox", str(mbox), "--me", "ann.lee@example.com"], env=env)
    assert result.exit_code == 0, result.output
    assert "ann.lee@example.com (4 messages)" in result.output and "5 messages written" in result.output
    assert 'email_pattern = "%ann.lee@example.com%"' in result.output  # the demo twin's pattern is '%allan%'
    bad = CliRunner().invoke(app, ["import", "slackz", str(mbox)], env=env)
    assert bad.exit_code == 1 and "format: 'slackz' is not one of" in bad.output


@pytest.mark.realdata
def test_enron_maildir_round_trip_matches_the_source(shared_data, tmp_path, make_settings, database_url):
    """Bill Rapp's mailbox written back as a maildir (one file per message, a folder per mail folder), imported,
    read by the emails source: as many of his emails as the source holds, distinct and dated."""
    from doppel.sources import read_records

    maildir = tmp_path / "rapp-b"
    his: set[str] = set()
    for n, line in enumerate((shared_data / "enron" / "rapp-b.jsonl").read_text().splitlines()):
        item = json.loads(line)
        msg = EmailMessage()
        msg["From"] = ", ".join(item["from"])
        msg["To"] = ", ".join(item["to"])
        msg["Subject"] = item["subject"]
        stamp = datetime.fromisoformat(item["date"]).replace(tzinfo=UTC) if item.get("date") else None
        if stamp:
            msg["Date"] = email.utils.format_datetime(stamp)
        # The corpus lost its Message-IDs; the same message in two folders gets the same one, as real mail does.
        key = hashlib.sha256(json.dumps([item["from"], item["date"], item["subject"], item["body"]]).encode())
        msg["Message-ID"] = f"<{key.hexdigest()[:24]}@enron.example>"
        msg.set_content(item["body"] or " ")
        folder = maildir / item["folder"]
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{n}.").write_bytes(bytes(msg))
        if stamp and any("Rapp" in f for f in item["from"]):
            his.add(msg["Message-ID"])
    person = find_person("maildir", maildir)
    assert person.guessed and "Sent" in person.how and person.addresses == {"rapp"}
    settings = make_settings(
        persona={"name": "Bill Rapp", "email_pattern": "%Rapp%"},
        sources={"conversations": {"enabled": False}, "deals": {"enabled": False}, "notes": {"enabled": False}},
    )
    report = import_mail(Database(settings), "maildir", maildir, person)
    assert report.read == 587 and report.written + report.already_there + sum(report.skipped.values()) == 587
    records = read_records(Database(settings), settings.twins[0])
    assert len(records) == len(his) and all(r.timestamp is not None for r in records)
    # And on into a data set: the card reads as many emails as the mailbox holds of his.
    from doppel.dataset.examples import build_examples

    built = build_examples(records, settings.twins[0].persona)
    assert built.read["emails"] == len(his)
    assert sum(1 for e in built.examples if e.meta.get("prompt_kind") == "reply") > 0  # threads came out
