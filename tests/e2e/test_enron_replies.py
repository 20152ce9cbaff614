"""Real mailboxes without in_reply_to: doppel finds the emails the owner's replies answer.

Each Enron mailbox holds both sides of many threads (the owner's Sent Items,
the Inbox and Deleted Items they answered), with senders and recipients in the
mixed formats real mail systems leave behind.
"""

import re

import psycopg
import pytest

from doppel.config import TwinConfig
from doppel.sources import collect_twin
from doppel.sources.parties import Party, name_words, parse_party, same_party
from doppel.sources.threads import normalise_subject
from tests.e2e.enron import load_mailbox

pytestmark = pytest.mark.realdata

# mailbox, owner, address, the share of the owner's RE: emails that must get a real parent. Measured (all
# by subject, the mailboxes have no thread ids): rapp-b 26 of 40 RE: (26 have a same-subject email by someone
# else before them at all), sanchez-m 17 of 50 (21), townsend-j 4 of 11 (4). The rest answer mail the box lacks.
PEOPLE = [
    ("rapp-b", "Bill Rapp", "bill.rapp@enron.com", 0.55),
    ("sanchez-m", "Monique Sanchez", "monique.sanchez@enron.com", 0.28),
    ("townsend-j", "Judy Townsend", "judy.townsend@enron.com", 0.27),
]
_RE = re.compile(r"^\s*re\s*:", re.IGNORECASE)


@pytest.mark.parametrize("mailbox, name, address, share", PEOPLE, ids=[p[0] for p in PEOPLE])
def test_replies_find_the_email_they_answer(shared_data, database_url, mailbox, name, address, share):
    with psycopg.connect(database_url) as conn:
        loaded = load_mailbox(conn, shared_data / "enron" / f"{mailbox}.jsonl", address)
        disabled = {"enabled": False}
        twin = TwinConfig.model_validate(
            {
                "persona": {"name": name, "email_pattern": address, "user_id": mailbox},
                "sources": {"conversations": disabled, "deals": disabled, "notes": disabled},
            }
        )
        emails = collect_twin(conn, twin)
        own_texts = {
            body for (body,) in conn.execute("SELECT body FROM crm_emails WHERE sender_email = %s", (address,))
        }
        others = conn.execute(
            "SELECT subject, sent_at, sender_email FROM crm_emails WHERE sender_email <> %s", (address,)
        ).fetchall()

    person = Party(address, name_words(name))
    # The ceiling: RE: emails with any earlier email of the same subject by someone else in the mailbox.
    earlier: dict[str, list] = {}
    for subject, sent_at, sender in others:
        if not same_party(parse_party(sender), person, loose=True):
            earlier.setdefault(normalise_subject(subject), []).append(sent_at)

    replies = [r for r in emails if _RE.match(r.fields["subject"])]
    found = [r for r in replies if r.fields["prompt_kind"] == "reply"]
    findable = [
        r
        for r in replies
        if normalise_subject(r.fields["subject"])
        and any(t < r.timestamp for t in earlier.get(normalise_subject(r.fields["subject"]), []))
    ]
    routes = {via: sum(r.fields["reply_via"] == via for r in emails) for via in ("in_reply_to", "thread", "subject")}
    print(
        f"\n{mailbox}: {len(emails)} owner emails, {len(replies)} RE:, {len(found)} of them with a real parent "
        f"({len(findable)} have an earlier same-subject email by someone else); all parents by route {routes}"
    )
    assert len(emails) == loaded["own"] and len(replies) == loaded["replies"]
    assert len(found) >= share * len(replies)
    assert len(found) >= 0.7 * len(findable)

    for r in emails:
        assert r.fields["prompt_kind"] == ("reply" if r.history else "header")
        for turn in r.history:
            # Never the person's own words as the email being answered.
            assert not turn.is_person and turn.text not in own_texts and turn.text != r.text
            assert not same_party(parse_party(turn.speaker), person, loose=True)
