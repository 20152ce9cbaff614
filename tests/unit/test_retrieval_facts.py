"""The retrieval part's fact test: questions from held-out deals, emails and notes, and how answers are matched."""

from __future__ import annotations

from types import SimpleNamespace

from doppel.evaluation.parts.retrieval import answered, fact_questions
from doppel.sources.records import Record


def _record(source: str, i: int, **fields) -> Record:
    return Record(source, str(i), None, "me@x.com", "text", f"{source}:{i}", fields=fields)


def _setup(records, val_fraction=1.0, per_kind=15):
    return SimpleNamespace(
        records=records,
        data=SimpleNamespace(val_fraction=val_fraction),
        twin=SimpleNamespace(evaluation=SimpleNamespace(fact_questions=per_kind)),
    )


def test_questions_come_from_every_kind_of_held_out_record_and_are_capped():
    records = [
        _record("deals", 1, deal_name="Acme renewal", deal_stage="negotiation", deal_amount=48000),
        _record("emails", 2, subject="Pilot pricing", recipient="Dana Lee <dana.lee@acme.example>"),
        _record("emails", 3, subject="", recipient="bob@x.com"),  # nothing to ask with
        _record("notes", 4, title="Q3 plan", tags=["pricing", "pilot"]),
        _record("notes", 5, title="No tags", tags=[]),
    ]
    questions = fact_questions(_setup(records))
    assert [(q[0], q[2], q[3]) for q in questions] == [
        ("deals:1", "stage", "negotiation"),
        ("deals:1", "amount", "48000"),
        ("emails:2", "counterpart", "Dana Lee <dana.lee@acme.example>"),
        ("notes:4", "tag", "pricing, pilot"),
    ]
    assert "Acme renewal" in questions[0][1] and "Pilot pricing" in questions[2][1]
    many = [_record("emails", i, subject=f"s{i}", recipient="a@b.com") for i in range(40)]
    assert len(fact_questions(_setup(many))) == 15  # the default cap per kind
    assert len(fact_questions(_setup(many, per_kind=4))) == 4
    assert fact_questions(_setup(records, per_kind=0)) == []
    # Training-split records are never asked about.
    assert fact_questions(_setup(records, val_fraction=0.0)) == []


def test_answers_match_exactly_but_forgive_form():
    assert answered("It is in Negotiation now.", "stage", "negotiation")
    assert not answered("renegotiation", "stage", "negotiation")
    assert answered("About $48,000 a year", "amount", "48000") and answered("48000 USD", "amount", "48000")
    assert not answered("148000", "amount", "48000")
    to = "Dana Lee <dana.lee@acme.example>"
    assert answered("I sent it to Dana Lee.", "counterpart", to)
    assert answered("to dana.lee@acme.example", "counterpart", to) and answered("dana.lee, I think", "counterpart", to)
    assert not answered("I sent it to Bob.", "counterpart", to)
    assert answered("I tagged it pilot", "tag", "pricing, pilot") and not answered("no tags", "tag", "pricing, pilot")
