"""How each kind of record is asked for: the prompt side of an example.

The same wording is used when people later ask the twin (``format_context``
renders the ``context`` of a chat request the way deal fields are rendered
here), so a question at serving time looks like the questions it learned from.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from doppel.sources.clean import clean_email_body, clean_text
from doppel.sources.parties import display_name, display_parties
from doppel.sources.records import Record

# Other people's text in a prompt is cut to this many characters: context, not
# a target, and long forwarded chains would otherwise crowd out the answer.
MAX_CONTEXT_CHARS = 2000


def _value(value: Any) -> str:
    if isinstance(value, Decimal):  # NUMERIC columns (deal amounts) arrive as Decimal
        value = int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{value:,}" if isinstance(value, int) or float(value).is_integer() else f"{value:,.2f}"
    if isinstance(value, (list, tuple)):
        return ", ".join(_value(v) for v in value)
    if isinstance(value, Mapping):
        return "; ".join(f"{k}: {_value(v)}" for k, v in sorted(value.items()))
    return str(value).strip()


def format_context(context: Mapping[str, Any]) -> str:
    """A stable, readable rendering: one ``key: value`` line per field, keys sorted."""
    lines = []
    for key in sorted(context):
        value = context[key]
        if value is None or value == "" or value == [] or value == {}:
            continue
        lines.append(f"{str(key).replace('_', ' ')}: {_value(value)}")
    return "\n".join(lines)


def _clip(text: str) -> str:
    return text if len(text) <= MAX_CONTEXT_CHARS else text[:MAX_CONTEXT_CHARS].rstrip() + " [...]"


def email_prompt(record: Record) -> list[dict[str, str]] | None:
    """The email it answers, when the thread holds one; else None (the data set derives an instruction)."""
    if not record.history:
        return None
    parent = record.history[-1]
    body = _clip(clean_email_body(parent.text))
    subject = record.fields.get("reply_subject") or record.fields.get("subject", "")
    header = f"Email from {display_name(parent.speaker) or 'a contact'}" + (f" (subject: {subject})" if subject else "")
    return [{"role": "user", "content": f"{header}:\n\n{body}\n\nWrite your reply."}]


def email_heading(record: Record) -> dict[str, str | None]:
    """What an email's header says about an email that answers nothing: to whom, and its subject."""
    return {
        "to": display_parties(record.fields.get("recipient")) or None,
        "subject": (record.fields.get("subject") or "").strip() or None,
    }


def conversation_prompt(record: Record) -> list[dict[str, str]] | None:
    """Earlier turns as alternating user/assistant messages (the person is 'assistant')."""
    messages: list[dict[str, str]] = []
    for turn in record.history:
        role = "assistant" if turn.is_person else "user"
        text = _clip(clean_text(turn.text))
        if not text:
            continue
        if messages and messages[-1]["role"] == role:  # chat templates want alternation
            messages[-1]["content"] += "\n\n" + text
        else:
            messages.append({"role": role, "content": text})
    if messages and messages[0]["role"] == "assistant":
        messages = messages[1:]
    if not messages or messages[-1]["role"] != "user":
        topic = (record.fields.get("metadata") or {}).get("topic")
        if not messages and not topic:
            return None  # the person opens a conversation on nothing known: derive the instruction
        opener = f"(You start the conversation{f' about {topic}' if topic else ''}.)"
        messages.append({"role": "user", "content": opener})
    return messages


def deal_prompt(record: Record) -> list[dict[str, str]]:
    context = format_context(
        {
            "deal_name": record.fields.get("deal_name"),
            "deal_stage": record.fields.get("deal_stage"),
            "deal_amount": record.fields.get("deal_amount"),
        }
    )
    return [{"role": "user", "content": f"{context}\n\nWhat are your notes on this deal?"}]


def note_prompt(record: Record) -> list[dict[str, str]] | None:
    title = record.fields.get("title")
    if not title:
        return None  # an untitled note: the data set derives an instruction from its text
    tags = record.fields.get("tags") or []
    tag_line = f"\ntags: {', '.join(tags)}" if tags else ""
    return [{"role": "user", "content": f"Write a sticky note: {title}{tag_line}"}]


# Each returns the prompt turns, or None when the record says nothing about what it answered.
PROMPTS = {
    "emails": email_prompt,
    "conversations": conversation_prompt,
    "deals": deal_prompt,
    "notes": note_prompt,
}


# What a header says about a record that answers nothing, given to the derived instruction.
HEADINGS = {"emails": email_heading}


def clean_target(record: Record) -> str:
    """The person's own words of a record, cleaned for its kind."""
    return clean_email_body(record.text) if record.source == "emails" else clean_text(record.text)
