"""Forget matching and the privacy key, without a database."""

from __future__ import annotations

import os
import stat
import threading

import pytest

from doppel.privacy.forget import ForgetRequest, Forgetting
from doppel.privacy.keys import PrivacyKeyError, load_or_create_key
from doppel.sources.records import Record, Turn


def email(id_: int, text: str, to: str = "", answered: tuple[Turn, ...] = (), subject: str = "") -> Record:
    return Record(
        source="emails",
        source_id=str(id_),
        timestamp=None,
        author="allan@maverick-labs.com",
        text=text,
        group=f"emails:{id_}",
        fields={"recipient": to, "subject": subject},
        history=answered,
    )


RECORDS = [
    email(1, "See you Friday.", to='"Whitlock, Dana" <Dana.Whitlock@Northwind.com>'),
    email(2, "Agreed.", answered=(Turn("dana.whitlock@northwind.com", "Can we hold the price?"),)),
    email(3, "I spoke to Dana Whitlock about the launch."),
    email(4, "Whitlock,  Dana is on leave until May.", subject="Out of office"),
    email(5, "Nothing about her here.", to="bo@lee.org"),
    Record("notes", "5", None, "allan", "Call back re: PROJECT ATLAS budget", "notes:5"),
]


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        ("email", "DANA.WHITLOCK@northwind.com", {"emails:1", "emails:2"}),
        # Her address spells her name, so the email she sent counts as hers too.
        ("name", "Dana Whitlock", {"emails:1", "emails:2", "emails:3", "emails:4"}),
        ("record", "emails:5", {"emails:5"}),
        ("record", "notes:5", {"notes:5"}),
        ("contains", "project atlas", {"notes:5"}),
        ("contains", "hold the price", {"emails:2"}),  # what they answered counts too
    ],
)
def test_each_kind_matches_what_it_says(kind, value, expected):
    forgetting = Forgetting([ForgetRequest(kind=kind, value=value)])
    kept = forgetting.keep(RECORDS)
    assert {r.key for r in RECORDS} - {r.key for r in kept} == expected
    assert sum(forgetting.left_out.values()) == len(expected)


def test_a_request_for_another_twin_does_not_apply():
    assert ForgetRequest(kind="contains", value="x y z", twin="bob").applies_to("bob")
    assert not ForgetRequest(kind="contains", value="x y z", twin="bob").applies_to("allan")
    assert ForgetRequest(kind="contains", value="x y z").applies_to("allan")


def test_the_key_is_made_once_private_and_shared_by_racing_processes(tmp_path):
    path = tmp_path / "secrets" / "allan" / "privacy.key"
    keys: list[bytes] = []
    threads = [threading.Thread(target=lambda: keys.append(load_or_create_key(path))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(keys)) == 1 and len(keys[0]) == 32
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["privacy.key"]  # no temporary files left
    path.write_bytes(b"short")
    with pytest.raises(PrivacyKeyError, match="at least 16"):
        load_or_create_key(path)
