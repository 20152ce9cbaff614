"""`doppel import` for chat exports, on real PostgreSQL, from small files in each format written here."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from doppel.cli import app
from doppel.db import Database
from doppel.importers import ImportProblem, Person, find_chat_person, import_chats
from doppel.sources import read_records

ONLY_CHATS = {"emails": {"enabled": False}, "deals": {"enabled": False}, "notes": {"enabled": False}}


def slack(root: Path) -> Path:
    (root / "general").mkdir(parents=True)
    (root / "users.json").write_text(
        json.dumps(
            [
                {"id": "U1", "name": "ann", "profile": {"real_name": "Ann Lee"}},
                {"id": "U2", "name": "bo", "profile": {"real_name": "Bo Chen"}},
            ]
        )
    )
    day = [
        {"type": "message", "subtype": "channel_join", "user": "U2", "text": "<@U2> has joined", "ts": "1714986000.0"},
        {"type": "message", "user": "U2", "text": "<@U1> can we ship Friday?", "ts": "1714986060.0"},
        {
            "type": "message",
            "user": "U1",
            "text": "Yes, if QA signs off. See <https://x.test/plan|the plan>.",
            "ts": "1714986120.0",
        },
        # Thirty hours later: a new conversation.
        {"type": "message", "user": "U2", "text": "QA signed off.", "ts": "1715094120.0"},
        {"type": "message", "user": "U1", "text": "Great, shipping it now.", "ts": "1715094180.0"},
    ]
    (root / "general" / "2024-05-06.json").write_text(json.dumps(day))
    return root


WHATSAPP_ANDROID = """12/31/23, 9:15 PM - Messages and calls are end-to-end encrypted.
12/31/23, 9:15 PM - Bo Chen: Happy new year! Dinner on the 2nd?
12/31/23, 9:17 PM - Ann Lee: Happy new year Bo! The 2nd works.
Shall we say 7pm at the usual place?
12/31/23, 9:18 PM - Bo Chen: <Media omitted>
1/2/24, 6:40 PM - Bo Chen: Running ten minutes late
"""
WHATSAPP_IOS = """[31.12.23, 21:15:03] Bo Chen: Happy new year! Dinner on the 2nd?
[31.12.23, 21:17:41] Ann Lee: Happy new year Bo! The 2nd works.
[02.01.24, 18:40:00] Bo Chen: Running ten minutes late
"""


def telegram(root: Path) -> Path:
    root.mkdir(parents=True)
    data = {
        "personal_information": {"user_id": 7, "first_name": "Ann", "last_name": "Lee"},
        "chats": {
            "list": [
                {
                    "name": "Bo Chen",
                    "type": "personal_chat",
                    "id": 99,
                    "messages": [
                        {"id": 1, "type": "service", "date": "2024-05-06T09:00:00", "action": "phone_call"},
                        {
                            "id": 2,
                            "type": "message",
                            "date": "2024-05-06T09:01:00",
                            "from": "Bo Chen",
                            "text": "Did you see the draft?",
                        },
                        {
                            "id": 3,
                            "type": "message",
                            "date": "2024-05-06T09:03:00",
                            "from": "Ann Lee",
                            "text": ["Yes, ", {"type": "bold", "text": "looks good"}, ", one comment on page 2."],
                        },
                    ],
                }
            ]
        },
    }
    (root / "result.json").write_text(json.dumps(data))
    return root


def discord(file: Path) -> Path:
    data = {
        "channel": {"id": "5", "name": "launch"},
        "messages": [
            {
                "id": "11",
                "type": "Default",
                "timestamp": "2024-05-06T09:00:00+00:00",
                "content": "Build is green",
                "author": {"id": "2", "name": "bo"},
            },
            {
                "id": "12",
                "type": "Default",
                "timestamp": "2024-05-06T09:02:00+00:00",
                "content": "Ship it, and post the notes",
                "author": {"id": "1", "name": "ann", "nickname": "Ann"},
            },
            {
                "id": "13",
                "type": "ChannelPinnedMessage",
                "timestamp": "2024-05-06T09:03:00+00:00",
                "content": "",
                "author": {"id": "1", "name": "ann"},
            },
        ],
    }
    file.write_text(json.dumps(data))
    return file


def conversations(url: str) -> list[list[tuple[str, str]]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT c.id, m.role, m.content FROM conversations c JOIN messages m ON m.conversation_id = c.id "
            "ORDER BY c.created_at, m.created_at"
        ).fetchall()
    grouped: dict[int, list] = {}
    for cid, role, content in rows:
        grouped.setdefault(cid, []).append((role, content))
    return list(grouped.values())


def test_slack_export_becomes_conversations_split_by_pauses(tmp_path, make_settings, database_url):
    settings = make_settings(sources=ONLY_CHATS)
    export = slack(tmp_path / "slack")
    person = find_chat_person("slack", export, ["Ann Lee"])
    assert person.messages == 2
    report = import_chats(Database(settings), "slack", export, person, user_id="allan")
    assert (report.read, report.written, report.conversations) == (4, 4, 2)
    assert conversations(database_url) == [
        [("assistant", "@Ann Lee can we ship Friday?"), ("user", "Yes, if QA signs off. See the plan.")],
        [("assistant", "QA signed off."), ("user", "Great, shipping it now.")],
    ]
    again = import_chats(Database(settings), "slack", export, person, user_id="allan")
    assert (again.written, again.already_there, again.conversations) == (0, 4, 0)
    # The twin reads them: the person's turns, each answering what came before.
    records = read_records(Database(settings), settings.twins[0])
    assert sorted(r.text for r in records) == ["Great, shipping it now.", "Yes, if QA signs off. See the plan."]
    assert all(r.fields["prompt_kind"] == "reply" for r in records)


@pytest.mark.parametrize("text", [WHATSAPP_ANDROID, WHATSAPP_IOS], ids=["android-us", "ios-day-first"])
def test_whatsapp_in_both_date_formats(tmp_path, make_settings, database_url, text):
    export = tmp_path / "WhatsApp Chat with Bo Chen.txt"
    export.write_text(text)
    person = find_chat_person("whatsapp", export)
    assert person.guessed  # both wrote as much; either is a guess, and --me settles it
    person = find_chat_person("whatsapp", export, ["ann lee"])
    report = import_chats(Database(make_settings()), "whatsapp", export, person, user_id="allan")
    assert report.written == 3 and report.conversations == 2  # dinner talk, then two days later
    first = conversations(database_url)[0]
    assert first[1] == (
        "user",
        "Happy new year Bo! The 2nd works." + ("\nShall we say 7pm at the usual place?" if "PM" in text else ""),
    )
    with psycopg.connect(database_url) as conn:
        last = conn.execute("SELECT created_at FROM messages ORDER BY created_at DESC LIMIT 1").fetchone()[0]
    assert (last.month, last.day) == (1, 2)


def test_telegram_knows_its_exporter_and_discord_skips_system_messages(tmp_path, make_settings, database_url):
    db = Database(make_settings())
    export = telegram(tmp_path / "tg")
    person = find_chat_person("telegram", export)
    assert person.guessed and "exporting account" in person.how and person.messages == 1
    import_chats(db, "telegram", export, person, user_id="allan")
    channel = discord(tmp_path / "launch.json")
    import_chats(db, "discord", channel, find_chat_person("discord", channel, ["Ann"]), user_id="allan")
    assert conversations(database_url) == [  # oldest first: Discord's 09:00, then Telegram's 09:01
        [("assistant", "Build is green"), ("user", "Ship it, and post the notes")],
        [("assistant", "Did you see the draft?"), ("user", "Yes, looks good, one comment on page 2.")],
    ]


def test_csv_and_jsonl_with_a_column_mapping(tmp_path, make_settings, database_url):
    db = Database(make_settings())
    table = tmp_path / "chat.csv"
    table.write_text(
        "when,who,message,room\n2024-05-06T09:00:00Z,Bo,Lunch?,lunch\n2024-05-06T09:01:00Z,Ann,Sure,lunch\n"
    )
    mapping = {"at": "when", "sender": "who", "text": "message", "chat": "room"}
    report = import_chats(
        db, "csv", table, find_chat_person("csv", table, ["Ann"], mapping), user_id="allan", mapping=mapping
    )
    assert report.written == 2 and report.person_written == 1
    lines = tmp_path / "chat.jsonl"
    lines.write_text(
        '{"sender": "Bo", "text": "Coffee?", "at": 1714986000}\n{"sender": "Ann", "text": "Yes", "at": 1714986060}\n'
    )
    assert import_chats(db, "jsonl", lines, find_chat_person("jsonl", lines, ["Ann"]), user_id="allan").written == 2
    with pytest.raises(ImportProblem, match=r"chat\.csv: line 2 has no sender \(column 'sender'\)"):
        find_chat_person("csv", table)


def test_bad_files_stop_before_writing_naming_file_and_place(tmp_path, make_settings, database_url):
    broken = tmp_path / "tg" / "result.json"
    broken.parent.mkdir()
    broken.write_text('{"chats": {"list": [\n  {"name": "x", "messages": [}\n')
    with pytest.raises(ImportProblem, match=r"result\.json: not valid JSON at line 2, column"):
        find_chat_person("telegram", broken.parent)
    not_whatsapp = tmp_path / "notes.txt"
    not_whatsapp.write_text("shopping list\nmilk\n")
    with pytest.raises(ImportProblem, match=r"notes\.txt: line 1 is not a WhatsApp message line"):
        import_chats(Database(make_settings()), "whatsapp", not_whatsapp, Person(set(), {"ann"}), user_id="allan")
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT to_regclass('messages')").fetchone()[0] is None


def test_the_cli_imports_a_chat_for_the_twins_user(tmp_path, make_settings, database_url):
    settings = make_settings()
    export = slack(tmp_path / "slack")
    env = {"DOPPEL_HOME": str(settings.home), "DOPPEL_DATABASE_URL": database_url, "DOPPEL_CONFIG": ""}
    result = CliRunner().invoke(app, ["import", "slack", str(export), "--me", "Ann Lee", "--gap-hours", "48"], env=env)
    assert result.exit_code == 0, result.output
    assert "ann lee (2 messages)" in result.output and "4 messages written" in result.output
    assert "in 1 new conversations" in result.output and "'allan'" in result.output
    bad = CliRunner().invoke(app, ["import", "csv", str(tmp_path / "x.csv"), "--map", "colour=x"], env=env)
    assert bad.exit_code == 1 and "--map" in bad.output
