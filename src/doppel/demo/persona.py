"""Deterministic, fictional CRM data for the demo persona Allan Maverick.

Allan is VP of Sales at Maverick Labs, a made-up B2B company that sells
analytics to consumer-packaged-goods (CPG) brands. :func:`generate` builds the
rows of the four CRM tables doppel reads (emails, conversations + messages,
deals, sticky notes) so the demo twin has something to learn from and tests
have realistic, reproducible data. :func:`generate_new` makes a small batch of
later records for tests of nightly incremental training.

Design notes
------------
* Everything flows from ``random.Random`` instances seeded by the caller: no
  global random state and no clock, so one seed always gives identical rows.
  Each table gets its own stream, so changing one table's generator does not
  reshuffle the others.
* Allan's habits (greeting, sign-off, pet phrases, a hard 15% discount
  ceiling, walking away from free pilots / stalled procurement / category
  exclusivity, asking for "the real blocker" and a dated next step) are
  written into every template that speaks in his voice, so a 135M model sees
  each habit many times. Templates are composed slot by slot from phrase banks
  with random clients, people, products, amounts and dates, so texts are
  varied rather than copies.
* The words (cast, phrase banks, templates) live in ``phrases/*.yaml`` beside
  this module, loaded once at import; this module does the composing: who
  writes what and how often, Allan's rules (the discount ceiling, when he
  walks away) and the layouts. Any change to those files changes the data.
* Other people write in visibly different styles (formal, verbose, emoji,
  Outlook quoting, ``-- `` signatures) so an authorship check can tell them
  apart and the email cleaner has quoted blocks and signatures to strip.
* No address or user id other than Allan's contains "allan": the twin selects
  its rows with ``LIKE '%allan%'``.

All text here was written for this fictional persona.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any

import yaml

__all__ = [
    "ANCHOR",
    "PERSONA_EMAIL",
    "PERSONA_NAME",
    "PERSONA_USER_ID",
    "DemoData",
    "generate",
    "generate_new",
]

PERSONA_NAME = "Allan Maverick"
PERSONA_EMAIL = "allan@maverick-labs.com"
PERSONA_USER_ID = "allan"
ANCHOR = datetime(2026, 6, 30, tzinfo=UTC)
"""Newest record time of :func:`generate`; records spread over ~2 years before it."""

SPAN = timedelta(days=730)
DISCOUNT_CEILING = 15  # percent; Allan never agrees to more, whatever the ask
TEAM_ALIAS = "sales-team@maverick-labs.com"

# Row counts at scale 1.0. Allan's emails = replies + new ones (170 + 150 = 320);
# others' emails = the ones he answers + the ones he leaves (170 + 110 = 280).
_SIZES = {
    "inbound_replied": 170,
    "inbound_unreplied": 110,
    "allan_new": 150,
    "allan_convs": 110,
    "other_convs": 30,
    "allan_deals": 130,
    "other_deals": 50,
    "allan_notes": 170,
    "other_notes": 50,
}


@dataclass(frozen=True)
class DemoData:
    """Rows of the demo CRM, one list of plain dicts per table."""

    emails: list[dict]  # id, subject, body, sent_at, sender_email, recipient_email, in_reply_to
    conversations: list[dict]  # id, user_id, metadata, created_at
    messages: list[dict]  # id, conversation_id, role, content, created_at
    deals: list[dict]  # id, deal_name, stage, amount, notes, owner_email, created_at
    notes: list[dict]  # id, user_id, title, content, tags, created_at


@dataclass(frozen=True)
class Person:
    first: str
    last: str
    email: str
    title: str
    company: str
    style: str  # formal | verbose | casual | brisk | outlook: how they write
    phone: str = ""
    user_id: str = ""

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"


@dataclass(frozen=True)
class Client:
    name: str
    short: str
    category: str
    contacts: tuple[Person, ...]


# --------------------------------------------------------------------------
# Phrase data: phrases/<name>.yaml, shipped as package data. Lists are read
# as tuples: the banks are never changed, and some are joined with ``+``.
# --------------------------------------------------------------------------


_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when built in: 10x faster, same result


def _frozen(node: Any) -> Any:
    if isinstance(node, list):
        return tuple(_frozen(item) for item in node)
    if isinstance(node, dict):
        return {key: _frozen(value) for key, value in node.items()}
    return node


def _load(name: str) -> dict[str, Any]:
    """One phrase file, e.g. ``_load("cast")`` for ``phrases/cast.yaml``."""
    text = (resources.files("doppel.demo") / "phrases" / f"{name}.yaml").read_text(encoding="utf-8")
    return _frozen(yaml.load(text, Loader=_YAML_LOADER))


_CAST = _load("cast")
_EMAILS = _load("emails")
_CONVERSATIONS = _load("conversations")
_DEALS = _load("deals")
_NOTES = _load("notes")

# --------------------------------------------------------------------------
# Cast (phrases/cast.yaml). Every name is invented; none contains "allan".
# --------------------------------------------------------------------------

ALLAN = Person(
    "Allan", "Maverick", PERSONA_EMAIL, "VP of Sales", "Maverick Labs", "allan", "+1 (415) 555-0100", PERSONA_USER_ID
)

PRODUCTS: dict[str, str] = _CAST["products"]
# TestPilot is the flagship, so it shows up most.
_PRODUCT_WEIGHTS = [("TestPilot CPG", 5), ("ShelfSense", 2), ("PromoLens", 2), ("PanelPulse", 1)]


def _build_clients(table: tuple[dict[str, Any], ...]) -> tuple[Client, ...]:
    clients = []
    for i, row in enumerate(table):
        people = tuple(
            Person(
                c["first"],
                c["last"],
                f"{c['first'].lower()}.{c['last'].lower()}@{row['domain']}",
                c["title"],
                row["name"],
                c["style"],
                f"+1 (312) 555-{140 + 7 * i + j:04d}",
            )
            for j, c in enumerate(row["contacts"])
        )
        clients.append(Client(row["name"], row["short"], row["category"], people))
    return tuple(clients)


CLIENTS = _build_clients(_CAST["clients"])


def _mav(row: dict[str, Any]) -> Person:
    first, last = row["first"], row["last"]
    return Person(
        first,
        last,
        f"{first.lower()}.{last.lower()}@maverick-labs.com",
        row["title"],
        "Maverick Labs",
        row["style"],
        f"+1 (415) 555-{row['ext']:04d}",
        row["user_id"],
    )


# Allan's team: they ask him things, own some deals and have their own notes.
TEAM = tuple(_mav(row) for row in _CAST["maverick_labs"]["team"])
SELLERS = tuple(p for p, row in zip(TEAM, _CAST["maverick_labs"]["team"]) if row["sells"])  # people who own deals
CEO = _mav(_CAST["maverick_labs"]["ceo"])
DEAL_DESK = _mav(_CAST["maverick_labs"]["deal_desk"])

PARTNERS = tuple(Person(**row) for row in _CAST["partners"])
VENDORS = tuple(Person(**row) for row in _CAST["vendors"])
RECRUITER = Person(**_CAST["recruiter"])

COMPETITORS: tuple[str, ...] = _CAST["competitors"]
CANDIDATES: tuple[str, ...] = _CAST["candidates"]
FEATURES: tuple[str, ...] = _CAST["features"]
# Vocabularies of the deal stage and sticky-note tag columns.
STAGES = ("prospecting", "qualification", "proposal", "negotiation", "closed_won", "closed_lost")
NOTE_TAGS = (
    "pricing",
    "hiring",
    "pipeline",
    "product",
    "ideas",
    "clients",
    "process",
    "coaching",
    "forecast",
    "partners",
)
MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)

# --------------------------------------------------------------------------
# Allan's voice (phrases/emails.yaml, voice and discount; sticky-note lines in
# phrases/notes.yaml). Placeholders are filled with str.format from a
# per-record context (first, client, short, product, amt, day, ...).
# --------------------------------------------------------------------------

_VOICE = _EMAILS["voice"]
SIGN_OFF: str = _VOICE["sign_off"]
SHORT_SIGN_OFF: str = _VOICE["short_sign_off"]
IPHONE: str = _VOICE["iphone"]
NEXT_STEP: tuple[str, ...] = _VOICE["next_step"]
STEPS: tuple[str, ...] = _VOICE["steps"]
INTERNAL_NEXT: tuple[str, ...] = _VOICE["internal_next"]
BLOCKER: tuple[str, ...] = _VOICE["blocker"]
CALL_OFFER: tuple[str, ...] = _VOICE["call_offer"]

# Conditions Allan trades a discount for (no digits: the only percentages in a
# discount answer are the ask and the counter).
TRADES: tuple[str, ...] = _EMAILS["discount"]["trades"]
# Discount answers by decision kind. {ask} is the client's ask, {c} Allan's counter (always <= 15), {cond} the trade.
DISCOUNT_TO_CLIENT: dict[str, tuple[str, ...]] = _EMAILS["discount"]["to_client"]
DISCOUNT_WHY: dict[str, tuple[str, ...]] = _EMAILS["discount"]["why"]
DISCOUNT_TO_TEAM: dict[str, tuple[str, ...]] = _EMAILS["discount"]["to_team"]
# Sticky-note lines, titles and tags by theme: terse, lowercase, arrows, maxims.
NOTE_LINES: dict[str, tuple[str, ...]] = _NOTES["lines"]
NOTE_TITLES: dict[str, tuple[str, ...]] = _NOTES["titles"]
NOTE_THEME_TAGS: dict[str, tuple[str, ...]] = _NOTES["tags"]


# --------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------


def _say(rng: random.Random, bank: tuple[str, ...] | list[str], ctx: dict[str, Any]) -> str:
    """One random template from `bank`, filled from `ctx`."""
    return rng.choice(bank).format(**ctx)


def _weighted(rng: random.Random, pairs: list[tuple[Any, float]] | tuple[tuple[Any, float], ...]) -> Any:
    items, weights = zip(*pairs)
    return rng.choices(items, weights=weights, k=1)[0]


def _product(rng: random.Random) -> str:
    return _weighted(rng, _PRODUCT_WEIGHTS)


def _other_product(rng: random.Random, product: str) -> str:
    return rng.choice([p for p in PRODUCTS if p != product])


def _rand_time(rng: random.Random, lo: datetime, hi: datetime) -> datetime:
    """A time in [lo, hi], moved into working hours when that keeps it in range."""
    t = lo + timedelta(seconds=rng.uniform(0, max(0.0, (hi - lo).total_seconds())))
    moved = t.replace(hour=rng.randint(7, 19), minute=rng.randint(0, 59), second=rng.randint(0, 59), microsecond=0)
    return moved if lo <= moved <= hi else t


def _day(dt: datetime) -> str:
    return f"{dt:%a} {dt:%b} {dt.day}"


def _future_day(rng: random.Random, base: datetime, lo: int = 2, hi: int = 9) -> str:
    """A weekday a few days after `base`, written the way Allan dates next steps."""
    d = base + timedelta(days=rng.randint(lo, hi))
    while d.weekday() >= 5:
        d += timedelta(days=1)
    return _day(d)


def _quarter(dt: datetime) -> str:
    q = (dt.month - 1) // 3 + 1
    return f"Q{q}"


def _weeks_to_quarter_end(dt: datetime) -> int:
    end_month = ((dt.month - 1) // 3 + 1) * 3
    end = datetime(dt.year + end_month // 12, end_month % 12 + 1, 1, tzinfo=UTC)
    return max(2, (end - dt).days // 7)  # "closes in 1 weeks" reads badly; 2 is close enough


def _k(amount: int) -> str:
    """Allan writes money short: $48k, $12.5k."""
    return f"${amount // 1000}k" if amount % 1000 == 0 else f"${amount / 1000:.1f}k"


def _money(amount: int) -> str:
    return f"${amount / 1_000_000:.1f}M" if amount >= 1_000_000 else _k(amount)


def _usd(amount: int) -> str:
    return f"${amount:,}"


def _deal_amount(rng: random.Random) -> int:
    """Whole dollars in [5k, 400k], skewed to the mid-market, rounded to $500."""
    raw = rng.triangular(5_000, 400_000, 40_000)
    return int(min(400_000, max(5_000, round(raw / 500) * 500)))


def _quote_header(dt: datetime, person: Person) -> str:
    hour = dt.hour % 12 or 12
    ampm = "AM" if dt.hour < 12 else "PM"
    return f"On {dt:%a}, {dt:%b} {dt.day}, {dt.year} at {hour}:{dt:%M} {ampm}, {person.name} <{person.email}> wrote:"


def _quoted(dt: datetime, person: Person, body: str) -> str:
    lines = [f"> {line}" if line else ">" for line in body.splitlines()]
    return _quote_header(dt, person) + "\n" + "\n".join(lines)


def _pick_ask(rng: random.Random) -> tuple[int, str | None]:
    """A client's discount ask and what (if anything) they offer in return."""
    r = rng.random()
    if r < 0.42:
        ask = 30
    elif r < 0.58:
        ask = rng.choice([20, 25, 35])
    elif r < 0.78:
        ask = rng.choice([40, 45, 50])
    else:
        ask = rng.choice([5, 8, 10])
    if ask <= 10:
        commitment = rng.choice(TRADES) if rng.random() < 0.8 else None
    else:
        commitment = rng.choice(TRADES) if rng.random() < 0.2 else None
    return ask, commitment


def _discount_decision(rng: random.Random, ask: int, commitment: str | None) -> dict[str, Any]:
    """Allan's policy: >= 40% -> decline; small ask with commitment -> accept;
    anything else -> counter at 10-15% for a prepay or a longer term. Never above 15%."""
    if ask >= 40:
        return {"kind": "decline", "ask": ask, "c": None, "cond": None}
    if ask <= 10:
        if commitment:
            return {"kind": "accept", "ask": ask, "c": ask, "cond": commitment}
        return {"kind": "small", "ask": ask, "c": ask, "cond": rng.choice(TRADES)}
    counter = min(rng.choice([10, 12, 12, 15]), DISCOUNT_CEILING)
    return {"kind": "counter", "ask": ask, "c": counter, "cond": commitment or rng.choice(TRADES)}


def _discount_answer(rng: random.Random, decision: dict[str, Any], ctx: dict[str, Any], *, to_team: bool) -> list[str]:
    """Allan's answer to a discount ask, as paragraphs (the decision comes first)."""
    ctx = {**ctx, **decision}
    kind = decision["kind"]
    bank = DISCOUNT_TO_TEAM if to_team else DISCOUNT_TO_CLIENT
    paras = [_say(rng, bank[kind], ctx)]
    why_kind = "counter" if kind == "small" else kind
    if not to_team or rng.random() < 0.5:
        paras.append(_say(rng, DISCOUNT_WHY[why_kind], ctx))
    if to_team:
        paras.append(rng.choice(INTERNAL_NEXT) if kind != "decline" else rng.choice(BLOCKER))
    elif kind == "decline":
        paras.append(rng.choice(CALL_OFFER))
    else:
        paras.append(rng.choice(BLOCKER[:2]) + " " + _say(rng, NEXT_STEP, ctx))
    return paras


# --------------------------------------------------------------------------
# Other people's voices. The same content is wrapped differently per style,
# so nobody else sounds like Allan (and nobody else uses his pet phrases).
# --------------------------------------------------------------------------

_STYLES = _EMAILS["styles"]
STYLE_GREETING: dict[str, tuple[str, ...]] = _STYLES["greeting"]
STYLE_OPENER: dict[str, tuple[str, ...]] = _STYLES["opener"]  # "" leaves the part out
STYLE_CLOSER: dict[str, tuple[str, ...]] = _STYLES["closer"]
SIGNATURE_CLOSING: dict[str, tuple[str, ...]] = _STYLES["signature_closing"]
CASUAL_EMOJI: tuple[str, ...] = _STYLES["casual_emoji"]
# Earlier lines of Allan's that others' emails quote back at him (the cleaner strips these).
ALLAN_EARLIER: tuple[str, ...] = _EMAILS["allan_earlier"]


def _signature(rng: random.Random, p: Person) -> str:
    style = p.style
    if style == "formal":
        sig = f"Kind regards,\n{p.name}\n{p.title}, {p.company}"
        return sig + (f"\n\n-- \n{p.name}\n{p.title}\n{p.company}\nT: {p.phone}" if rng.random() < 0.4 else "")
    if style == "verbose":
        closing = rng.choice(SIGNATURE_CLOSING["verbose"])
        return f"{closing},\n{p.name}\n{p.title} | {p.company}\n{p.phone}"
    if style == "casual":
        return rng.choice(SIGNATURE_CLOSING["casual"]) + f"\n{p.first}"
    if style == "brisk":
        return rng.choice([f"{p.first}", f"Thanks,\n{p.first}", f"- {p.first[0]}"])
    return (
        f"Best regards,\n{p.name}\n\n-- \n{p.name} | {p.title}\n{p.company}\nTel: {p.phone}\n"
        "This e-mail is confidential."
    )


def _original_message_block(when: datetime, p: Person, subject: str) -> str:
    """An Outlook-style quoted Allan email under someone's reply."""
    earlier = when - timedelta(days=2, hours=3)
    return (
        "-----Original Message-----\n"
        f"From: {PERSONA_NAME} <{PERSONA_EMAIL}>\n"
        f"Sent: {earlier:%A}, {earlier:%B} {earlier.day}, {earlier.year} {earlier:%H:%M}\n"
        f"To: {p.name} <{p.email}>\n"
        f"Subject: {subject}\n\n"
        f"Hey {p.first},\n\n{ALLAN_EARLIER[earlier.day % len(ALLAN_EARLIER)]}\n\n{SIGN_OFF}"
    )


def _other_email(rng: random.Random, p: Person, core: list[str], when: datetime, subject: str) -> tuple[str, str]:
    """Wrap `core` paragraphs in `p`'s style. Returns (subject, body); a quoted block makes it a 'Re:'."""
    parts = [rng.choice(STYLE_GREETING[p.style])]
    opener = rng.choice(STYLE_OPENER[p.style])
    if opener:
        parts.append(opener)
    paras = list(core)
    if p.style == "casual":
        paras[-1] = paras[-1] + " " + rng.choice(CASUAL_EMOJI)
    parts.extend(paras)
    closer = rng.choice(STYLE_CLOSER[p.style])
    if closer:
        parts.append(closer)
    body = "\n\n".join(parts) + "\n\n" + _signature(rng, p)
    r = rng.random()
    if p.style == "outlook" and r < 0.5 or r < 0.06:
        body += "\n\n" + _original_message_block(when, p, subject)
        subject = f"RE: {subject}"
    elif p.style in ("casual", "verbose", "brisk") and r < 0.22:
        earlier = when - timedelta(days=1, hours=rng.randint(1, 20))
        allan_text = f"Hey {p.first},\n\n{rng.choice(ALLAN_EARLIER)}\n\n{SIGN_OFF}"
        body += "\n\n" + _quoted(earlier, ALLAN, allan_text)
        subject = f"Re: {subject}"
    return subject, body


def _base_ctx(
    rng: random.Random, when: datetime, client: Client | None = None, contact: Person | None = None
) -> dict[str, Any]:
    """Everything a template may name, drawn once per record."""
    client = client or rng.choice(CLIENTS)
    contact = contact or rng.choice(client.contacts)
    product = _product(rng)
    amount = _deal_amount(rng)
    candidates = rng.sample(CANDIDATES, 2)
    commit = rng.randrange(600_000, 2_400_000, 50_000)  # a quarter's commit, for forecast talk
    return {
        "client": client.name,
        "short": client.short,
        "category": client.category,
        "contact": contact.first,
        "contact_full": contact.name,
        "first": contact.first,
        "product": product,
        "product2": _other_product(rng, product),
        "what": PRODUCTS[product],
        "amount": amount,
        "amt": _k(amount),
        "usd": _usd(amount),
        "day": _future_day(rng, when),
        "day2": _future_day(rng, when, 3, 12),
        "step": rng.choice(STEPS),
        "competitor": rng.choice(COMPETITORS),
        "quarter": _quarter(when),
        "q": (when.month - 1) // 3 + 1,
        "month": MONTHS[(when.month + rng.randint(0, 3)) % 12],
        "tm": rng.choice(SELLERS).first,
        "candidate": candidates[0],
        "candidate2": candidates[1],
        "feature": rng.choice(FEATURES),
        "days": rng.randint(20, 140),
        "n": rng.choice([14, 21, 30, 45, 60]),
        "title": contact.title,
        "big": _money(commit),
        "big2": _money(commit + rng.randrange(200_000, 900_000, 50_000)),
    }


# --------------------------------------------------------------------------
# Emails others send to Allan (phrases/emails.yaml). Each scenario returns
# (sender, subject, core paragraphs, ctx); ctx carries what Allan's reply
# needs (e.g. the ask).
# --------------------------------------------------------------------------

INBOUND_CORE: dict[str, tuple[str, ...]] = _EMAILS["inbound"]
# (product, client's question, Allan's answer)
PRODUCT_QA: tuple[tuple[str, str, str], ...] = tuple(
    (qa["product"], qa["question"], qa["answer"]) for qa in _EMAILS["product_qa"]
)
TEAM_ASKS: dict[str, tuple[str, ...]] = _EMAILS["team_asks"]
UNREPLIED_CORE: dict[str, tuple[str, ...]] = _EMAILS["unreplied"]
INBOUND_SUBJECTS: dict[str, tuple[str, ...]] = _EMAILS["inbound_subjects"]
# Scenarios Allan answers, and ones he lets sit, with rough weights.
REPLIED_KINDS = (
    ("discount", 22),
    ("free_pilot", 8),
    ("procurement", 8),
    ("exclusivity", 5),
    ("meeting", 10),
    ("proposal_request", 8),
    ("product_question", 7),
    ("renewal", 6),
    ("team", 17),
    ("ceo_forecast", 3),
    ("partner", 6),
)
UNREPLIED_KINDS = (
    ("thanks", 18),
    ("ooo", 10),
    ("newsletter", 12),
    ("vendor_pitch", 16),
    ("recruiter", 8),
    ("internal_fyi", 20),
    ("calendar", 10),
    ("finance", 6),
)
CLIENT_KINDS = {
    "discount",
    "free_pilot",
    "procurement",
    "exclusivity",
    "meeting",
    "proposal_request",
    "product_question",
    "renewal",
    "thanks",
    "ooo",
    "calendar",
}
TEAM_SUBS = (
    ("discount", 5),
    ("proposal_timing", 3),
    ("free_pilot", 2),
    ("procurement", 3),
    ("hiring", 2),
    ("exclusivity", 1),
)

# Allan's replies, slot by slot: one template from each slot, in order.
REPLY_SLOTS: dict[str, tuple[tuple[str, ...], ...]] = _EMAILS["reply_slots"]
# Allan answering his own team (internal voice: imperative, even shorter).
TEAM_REPLY_SLOTS: dict[str, tuple[tuple[str, ...], ...]] = _EMAILS["team_reply_slots"]


def _slots(rng: random.Random, slots: tuple[tuple[str, ...], ...], ctx: dict[str, Any]) -> list[str]:
    return [_say(rng, bank, ctx) for bank in slots]


def _inbound_sender(rng: random.Random, kind: str, ctx: dict[str, Any], client: Client) -> Person:
    """Who writes this kind of email to Allan."""
    if kind in CLIENT_KINDS:
        return next(c for c in client.contacts if c.first == ctx["contact"])
    if kind == "team":
        return rng.choice(SELLERS)
    if kind == "internal_fyi":
        return rng.choice(TEAM + (DEAL_DESK,))
    return {
        "ceo_forecast": CEO,
        "finance": DEAL_DESK,
        "recruiter": RECRUITER,
        "newsletter": PARTNERS[0],
        "partner": rng.choice(PARTNERS),
        "vendor_pitch": rng.choice(VENDORS),
    }[kind]


def _inbound_core(rng: random.Random, kind: str, ctx: dict[str, Any]) -> list[str]:
    """The content of an email to Allan, before the sender's style is applied. Fills ctx for the reply."""
    if kind == "discount":
        ctx["ask"], commitment = _pick_ask(rng)
        ctx["decision"] = _discount_decision(rng, ctx["ask"], commitment)
        core = [_say(rng, INBOUND_CORE["discount"], ctx)]
        if commitment:
            core.append(f"In return we would be open to {commitment}.")
        return core
    if kind == "procurement":
        ctx["weeks"] = rng.choice([4, 6, 8, 10, 14, 16, 19])
        ctx["days"] = ctx["weeks"] * 7
        return [_say(rng, INBOUND_CORE["procurement"], ctx)]
    if kind == "product_question":
        ctx["product"], question, ctx["answer"] = rng.choice(PRODUCT_QA)
        return [question, "We're trying to decide before our planning cycle closes."]
    if kind == "team":
        ctx["sub"] = sub = _weighted(rng, TEAM_SUBS)
        if sub == "discount":
            ctx["ask"], commitment = _pick_ask(rng)
            ctx["decision"] = _discount_decision(rng, ctx["ask"], commitment)
        return [_say(rng, TEAM_ASKS[sub], ctx)]
    bank = INBOUND_CORE.get(kind) or UNREPLIED_CORE[kind]
    return [_say(rng, bank, ctx)]


def _inbound(rng: random.Random, kind: str, when: datetime) -> dict[str, Any]:
    """One email from someone else to Allan, with the context his reply needs."""
    client = rng.choice(CLIENTS)
    ctx = _base_ctx(rng, when, client)
    sender = _inbound_sender(rng, kind, ctx, client)
    core = _inbound_core(rng, kind, ctx)
    subject, body = _other_email(rng, sender, core, when, _say(rng, INBOUND_SUBJECTS[kind], ctx))
    ctx["first"] = sender.first
    return {"kind": kind, "sender": sender, "subject": subject, "body": body, "ctx": ctx, "sent_at": when}


def _allan_reply_paras(rng: random.Random, kind: str, ctx: dict[str, Any]) -> list[str]:
    """What Allan says back, by scenario."""
    if kind == "discount":
        return _discount_answer(rng, ctx["decision"], ctx, to_team=False)
    if kind == "procurement":
        return _slots(rng, REPLY_SLOTS["procurement_long" if ctx["days"] > 90 else "procurement_short"], ctx)
    if kind == "team":
        sub = ctx["sub"]
        if sub == "discount":
            return _discount_answer(rng, ctx["decision"], ctx, to_team=True)
        if sub == "procurement":
            sub = "procurement_long" if ctx["days"] > 90 else "procurement_short"
        return _slots(rng, TEAM_REPLY_SLOTS[sub], ctx)
    return _slots(rng, REPLY_SLOTS[kind], ctx)


def _allan_body(rng: random.Random, greet: str | None, paras: list[str], quote: str | None = None) -> str:
    """Allan's email layout: greeting, short paragraphs, sign-off; sometimes a phone footer or a quoted original."""
    short = rng.random() < 0.15  # quick answers: the gist and "— A"
    if short:
        paras = paras[:2]
    parts = [f"Hey {greet}," if greet else "Hi all,", *paras]
    if short:
        parts.append(SHORT_SIGN_OFF)
    elif rng.random() >= 0.03:  # a few go out with no sign-off at all
        parts.append(SIGN_OFF)
    body = "\n\n".join(parts)
    if rng.random() < 0.07:
        body += "\n\n" + IPHONE
    if quote is not None and rng.random() < 0.10:
        body += "\n\n" + quote
    return body


def _allan_reply(rng: random.Random, inbound: dict[str, Any], when: datetime) -> dict[str, Any]:
    sender: Person = inbound["sender"]
    paras = _allan_reply_paras(rng, inbound["kind"], inbound["ctx"])
    quote = _quoted(inbound["sent_at"], sender, inbound["body"])
    subject = inbound["subject"]
    if not subject.lower().startswith("re:"):
        subject = f"Re: {subject}"
    return {
        "subject": subject,
        "body": _allan_body(rng, sender.first, paras, quote),
        "sent_at": when,
        "sender_email": PERSONA_EMAIL,
        "recipient_email": sender.email,
    }


# --------------------------------------------------------------------------
# Emails Allan starts himself (phrases/emails.yaml: pains, new_slots, new_subjects).
# --------------------------------------------------------------------------

PAINS: tuple[str, ...] = _EMAILS["pains"]
NEW_SLOTS: dict[str, tuple[tuple[str, ...], ...]] = _EMAILS["new_slots"]
NEW_SUBJECTS: dict[str, tuple[str, ...]] = _EMAILS["new_subjects"]
NEW_KINDS = (
    ("client_recap", 20),
    ("client_checkin", 16),
    ("proposal", 12),
    ("cold_intro", 5),
    ("team_update", 16),
    ("coaching", 13),
    ("ceo_update", 6),
    ("partner_note", 8),
    ("candidate", 4),
)


def _new_recipient(rng: random.Random, kind: str, ctx: dict[str, Any], client: Client) -> tuple[str | None, str]:
    """(first name to greet or None for a group, address) for an email Allan starts."""
    if kind in ("client_recap", "client_checkin", "proposal", "cold_intro"):
        contact = next(c for c in client.contacts if c.first == ctx["contact"])
        return contact.first, contact.email
    if kind == "team_update":
        return None, TEAM_ALIAS
    if kind == "coaching":
        tm = next(p for p in SELLERS if p.first == ctx["tm"])
        return tm.first, tm.email
    if kind == "ceo_update":
        return CEO.first, CEO.email
    if kind == "partner_note":
        partner = rng.choice(PARTNERS)
        return partner.first, partner.email
    first, last = ctx["candidate"].split()
    return first, f"{first.lower()}.{last.lower()}@mail.example.org"


def _allan_new(rng: random.Random, when: datetime) -> dict[str, Any]:
    kind = _weighted(rng, NEW_KINDS)
    client = rng.choice(CLIENTS)
    ctx = _base_ctx(rng, when, client)
    pains = rng.sample(PAINS, 2)
    ctx["pains"] = "\n".join(f"- {p.format(**ctx)}" for p in pains)
    ctx["lastday"] = _day(when - timedelta(days=rng.randint(6, 20)))
    ctx["weekof"] = _day(when - timedelta(days=when.weekday()))
    ctx["weeks"] = _weeks_to_quarter_end(when)
    greet, address = _new_recipient(rng, kind, ctx, client)
    paras = _slots(rng, NEW_SLOTS[kind], ctx)
    if kind == "team_update" and rng.random() < 0.5:  # a second news item keeps team notes from looking identical
        paras.insert(2, _say(rng, NEW_SLOTS[kind][1], {**ctx, "short": rng.choice(CLIENTS).short}))
    subject = _say(rng, NEW_SUBJECTS[kind], ctx)
    return {
        "subject": subject,
        "body": _allan_body(rng, greet, paras),
        "sent_at": when,
        "sender_email": PERSONA_EMAIL,
        "recipient_email": address,
    }


REPLY_DELAY_MAX = timedelta(hours=36)


def _email_rows(
    rng: random.Random, lo: datetime, hi: datetime, n_replied: int, n_unreplied: int, n_new: int, id_offset: int
) -> list[dict]:
    """All emails in [lo, hi]: others' (some answered by Allan) and Allan's own new ones."""
    entries: list[tuple[dict[str, Any], dict[str, Any] | None]] = []  # (row, row it answers)
    latest_original = hi - REPLY_DELAY_MAX - timedelta(minutes=1)
    for i in range(n_replied + n_unreplied):
        replied = i < n_replied
        kind = _weighted(rng, REPLIED_KINDS if replied else UNREPLIED_KINDS)
        when = _rand_time(rng, lo, latest_original)
        inbound = _inbound(rng, kind, when)
        original = {
            "subject": inbound["subject"],
            "body": inbound["body"],
            "sent_at": when,
            "sender_email": inbound["sender"].email,
            "recipient_email": PERSONA_EMAIL,
        }
        entries.append((original, None))
        if replied:
            reply_at = min(hi, when + timedelta(minutes=rng.randint(12, 36 * 60)))
            entries.append((_allan_reply(rng, inbound, reply_at), original))
    for _ in range(n_new):
        entries.append((_allan_new(rng, _rand_time(rng, lo, hi)), None))
    # Ids follow time, as in a real table; an answer always comes after its original.
    entries.sort(key=lambda e: e[0]["sent_at"])
    ids = {id(row): id_offset + i for i, (row, _) in enumerate(entries)}
    return [
        {
            "id": ids[id(row)],
            "subject": row["subject"],
            "body": row["body"],
            "sent_at": row["sent_at"],
            "sender_email": row["sender_email"],
            "recipient_email": row["recipient_email"],
            "in_reply_to": ids[id(parent)] if parent is not None else None,
        }
        for row, parent in entries
    ]


# --------------------------------------------------------------------------
# Chat conversations (phrases/conversations.yaml). In Allan's conversations
# he is the 'user' side and a sales-ops assistant (relaying the team's
# questions) is the 'assistant'. Scripts alternate roles; every core ends on
# Allan's turn so follow-up pairs (assistant, Allan) can be appended to reach
# 4-10 turns.
# --------------------------------------------------------------------------

A, U = "assistant", "user"

# A script is (first role, steps). Each step is a tuple of variants; a variant
# is a tuple of consecutive turns, so a question and its answer are chosen
# together and always match. Roles alternate from the first role.
Script = tuple[str, tuple[tuple[tuple[str, ...], ...], ...]]
CONV_SCRIPTS: dict[str, Script] = {
    topic: (script["first"], script["steps"]) for topic, script in _CONVERSATIONS["scripts"].items()
}
_PROCUREMENT_CHAT = _CONVERSATIONS["procurement"]  # opener; steps over_90 / within_90 (Allan's turn first)
_PIPELINE_CHAT = _CONVERSATIONS["pipeline"]  # ask, listing, on_track
CONV_DISCOUNT_ASK: tuple[str, ...] = _CONVERSATIONS["discount_ask"]
# The team's pushback after Allan's first answer, and his reply, by decision kind.
DISCOUNT_PUSHBACK: dict[str, tuple[tuple[str, str], ...]] = {
    kind: tuple((pair["push"], pair["reply"]) for pair in pairs)
    for kind, pairs in _CONVERSATIONS["discount_pushback"].items()
}

# Follow-up pairs appended to reach the target length. "deal" ones only fit
# conversations about a client.
FOLLOWUPS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = tuple(
    (group["scope"], tuple((pair["ask"], pair["reply"]) for pair in group["pairs"]))
    for group in _CONVERSATIONS["followups"]
)
# Tails Allan sometimes adds to a chat answer; they name the deal or the day, so
# the same answer reads differently from one conversation to the next.
CHAT_CODAS: dict[str, tuple[str, ...]] = _CONVERSATIONS["codas"]
ALLAN_TOPICS = (
    ("discount", 20),
    ("free_pilot", 8),
    ("proposal_timing", 10),
    ("pipeline", 11),
    ("hiring", 8),
    ("pricing", 7),
    ("procurement", 9),
    ("exclusivity", 5),
    ("forecast", 7),
    ("renewal", 6),
    ("competitor", 5),
    ("email_review", 3),
    ("call_prep", 5),
)
NON_CLIENT_TOPICS = {"hiring", "pricing"}
CHANNELS = ("assistant", "slack", "teams")


def _run_script(rng: random.Random, script: Script, ctx: dict[str, Any]) -> list[tuple[str, str]]:
    first, steps = script
    texts = [t.format(**ctx) for step in steps for t in rng.choice(step)]
    other = U if first == A else A
    return [(first if i % 2 == 0 else other, text) for i, text in enumerate(texts)]


def _conv_discount(rng: random.Random, ctx: dict[str, Any]) -> list[tuple[str, str]]:
    ask, commitment = _pick_ask(rng)
    decision = _discount_decision(rng, ask, commitment)
    ctx.update(ask=ask)
    opener = _say(rng, CONV_DISCOUNT_ASK, ctx)
    if commitment:
        opener += f" They'd commit to {commitment}."
    answer = " ".join(_discount_answer(rng, decision, ctx, to_team=True)[:2])
    push, reply = rng.choice(DISCOUNT_PUSHBACK[decision["kind"]])
    return [(A, opener), (U, answer), (A, push.format(**ctx)), (U, reply.format(**ctx))]


def _conv_procurement(rng: random.Random, ctx: dict[str, Any]) -> list[tuple[str, str]]:
    opener = _say(rng, _PROCUREMENT_CHAT["opener"], ctx)
    # Allan's line: more than 90 days in procurement and we walk
    steps = _PROCUREMENT_CHAT["over_90" if ctx["days"] > 90 else "within_90"]
    return [(A, opener)] + _run_script(rng, (U, steps), ctx)


def _conv_pipeline(rng: random.Random, ctx: dict[str, Any]) -> list[tuple[str, str]]:
    """Allan asks what's stuck; the assistant lists deals; Allan rules on each."""
    ask = _say(rng, _PIPELINE_CHAT["ask"], ctx)
    lines, verdicts = [], []
    clients = rng.sample(CLIENTS, 3)
    for client in clients:
        stage = rng.choice(["procurement", "proposal", "negotiation"])
        days, amount = rng.randint(31, 130), _deal_amount(rng)
        lines.append(f"- {client.short} — {_product(rng)}, {_k(amount)}, in {stage} for {days} days")
        if stage == "procurement" and days > 90:
            verdicts.append(f"{client.short}: {days} days in procurement -> we walk. Closed lost.")
        elif days > 60:
            verdicts.append(f"{client.short}: ask for the real blocker and a date this week. No date, out of commit.")
        else:
            verdicts.append(f"{client.short}: {rng.choice(_PIPELINE_CHAT['on_track'])}")
    ctx.update(short=clients[0].short, client=clients[0].name, contact=clients[0].contacts[0].first)
    listing = rng.choice(_PIPELINE_CHAT["listing"])
    return [(U, ask), (A, listing + "\n" + "\n".join(lines)), (U, "\n".join(verdicts))]


def _allan_conversation(rng: random.Random, topic: str, ctx: dict[str, Any]) -> list[tuple[str, str]]:
    """4-10 alternating turns; Allan is the 'user' side."""
    if topic == "discount":
        turns = _conv_discount(rng, ctx)
    elif topic == "procurement":
        turns = _conv_procurement(rng, ctx)
    elif topic == "pipeline":
        turns = _conv_pipeline(rng, ctx)
    else:
        turns = _run_script(rng, CONV_SCRIPTS[topic], ctx)
    target = rng.randint(5, 10)  # scripts are 3-5 turns; the 4-10 range averages ~7 turns
    scope = "any" if topic in NON_CLIENT_TOPICS else "deal"
    fitting = [pairs for kind, pairs in FOLLOWUPS if kind == "any" or scope == "deal"]
    extras = rng.sample(fitting, len(fitting))
    while extras and (len(turns) < 4 or len(turns) + 2 <= target):
        ask, answer = rng.choice(extras.pop())
        turns += [(A, ask.format(**ctx)), (U, answer.format(**ctx))]
    codas = CHAT_CODAS["any"] + (CHAT_CODAS["deal"] if scope == "deal" else ())
    return [
        (role, f"{text} {_say(rng, codas, ctx)}" if role == U and rng.random() < 0.35 else text) for role, text in turns
    ]


# Conversations of other people with the assistant. Nobody here is Allan; the
# user side is a teammate writing casually (emoji) or politely. Each variant is
# (casual user text, polite user text, assistant answer).
OTHER_SCRIPTS: dict[str, tuple[tuple[tuple[str, str, str], ...], ...]] = {
    topic: tuple(tuple((v["casual"], v["polite"], v["answer"]) for v in step) for step in steps)
    for topic, steps in _CONVERSATIONS["other_scripts"].items()
}


def _other_conversation(rng: random.Random, person: Person, ctx: dict[str, Any]) -> tuple[str, list[tuple[str, str]]]:
    topic = rng.choice(sorted(OTHER_SCRIPTS))
    casual = person.style == "casual"
    turns: list[tuple[str, str]] = []
    for step in OTHER_SCRIPTS[topic]:
        casual_text, polite_text, answer = rng.choice(step)
        turns += [(U, (casual_text if casual else polite_text).format(**ctx)), (A, answer.format(**ctx))]
    return topic, turns


def _conversation_rows(
    rng: random.Random, lo: datetime, hi: datetime, n_allan: int, n_other: int, id_offset: int
) -> tuple[list[dict], list[dict]]:
    """Conversations and their messages in [lo, hi], ids in time order."""
    convs: list[tuple[datetime, str, dict[str, Any], list[tuple[str, str]]]] = []
    latest_start = hi - timedelta(hours=6)  # 10 turns x <= 31 min fit before `hi`
    for i in range(n_allan + n_other):
        start = _rand_time(rng, lo, latest_start)
        ctx = _base_ctx(rng, start)
        if i < n_allan:
            topic = _weighted(rng, ALLAN_TOPICS)
            turns, user_id = _allan_conversation(rng, topic, ctx), PERSONA_USER_ID
        else:
            person = rng.choice(TEAM)
            topic, turns = _other_conversation(rng, person, ctx)
            user_id = person.user_id
        meta = {"topic": topic, "channel": rng.choice(CHANNELS)}
        if topic not in NON_CLIENT_TOPICS | {"event"}:
            meta["client"] = ctx["client"]
        convs.append((start, user_id, meta, turns))
    convs.sort(key=lambda c: c[0])
    conversations, messages = [], []
    for i, (start, user_id, meta, turns) in enumerate(convs):
        conv_id = id_offset + i
        conversations.append({"id": conv_id, "user_id": user_id, "metadata": meta, "created_at": start})
        t = start
        for role, content in turns:
            t += timedelta(minutes=rng.randint(1, 30), seconds=rng.randint(0, 59))
            messages.append({"id": 0, "conversation_id": conv_id, "role": role, "content": content, "created_at": t})
    messages.sort(key=lambda m: (m["created_at"], m["conversation_id"]))
    for i, m in enumerate(messages):
        m["id"] = id_offset + i
    return conversations, messages


# --------------------------------------------------------------------------
# Deals (phrases/deals.yaml). Allan's notes explain his call in his voice;
# colleagues write theirs.
# --------------------------------------------------------------------------

DEAL_SUFFIXES: tuple[str, ...] = _DEALS["suffixes"]
ALLAN_STAGE_WEIGHTS = (
    ("prospecting", 12),
    ("qualification", 14),
    ("proposal", 14),
    ("negotiation", 14),
    ("closed_won", 28),
    ("closed_lost", 18),
)
OTHER_STAGE_WEIGHTS = (
    ("prospecting", 18),
    ("qualification", 18),
    ("proposal", 18),
    ("negotiation", 14),
    ("closed_won", 20),
    ("closed_lost", 12),
)
DEAL_SLOTS: dict[str, tuple[tuple[str, ...], ...]] = _DEALS["allan_slots"]
WON_REASONS: tuple[str, ...] = _DEALS["won_reasons"]
# Most of Allan's losses are his own walk-aways (that is the habit to learn); the last two are rarer.
LOST_REASONS: tuple[str, ...] = _DEALS["lost_reasons"]
LOST_WEIGHTS = (3, 3, 3, 3, 1, 1)
NEGOTIATION_NOTES: dict[str, tuple[str, ...]] = _DEALS["negotiation"]
NEGOTIATION_TAIL: tuple[str, ...] = _DEALS["negotiation_tail"]
OTHER_DEAL_NOTES: dict[str, tuple[str, ...]] = _DEALS["other_notes"]


def _allan_deal_note(rng: random.Random, stage: str, ctx: dict[str, Any]) -> str:
    ctx.update(
        lost_days=rng.randint(95, 160),
        big_ask=rng.choice([40, 45, 50]),
        c=rng.choice([10, 12, 15]),
        open_days=rng.randint(20, 85),
    )
    if stage == "negotiation":
        r = rng.random()
        if r < 0.65:
            ask, commitment = _pick_ask(rng)
            decision = _discount_decision(rng, ask, commitment)
            head = _say(rng, NEGOTIATION_NOTES[decision["kind"]], {**ctx, **decision})
        else:
            head = _say(rng, NEGOTIATION_NOTES["procurement" if r < 0.85 else "pilot"], ctx)
        tail = _say(rng, NEGOTIATION_TAIL, ctx)
        return f"{head} {tail}"
    slots = DEAL_SLOTS[stage]
    if stage == "closed_won":
        ctx["reason"] = _say(rng, WON_REASONS, ctx)
    elif stage == "closed_lost":
        ctx["reason"] = rng.choices(LOST_REASONS, weights=LOST_WEIGHTS)[0].format(**ctx)
    parts = _slots(rng, slots, ctx)
    if len(parts) > 2 and rng.random() < 0.3:  # some notes are just the headline and the next step
        parts = [parts[0], parts[-1]]
    return " ".join(parts)


def _deal_rows(
    rng: random.Random, lo: datetime, hi: datetime, n_allan: int, n_other: int, id_offset: int
) -> list[dict]:
    rows = []
    for i in range(n_allan + n_other):
        when = _rand_time(rng, lo, hi)
        ctx = _base_ctx(rng, when)
        mine = i < n_allan
        stage = _weighted(rng, ALLAN_STAGE_WEIGHTS if mine else OTHER_STAGE_WEIGHTS)
        if mine:
            notes, owner = _allan_deal_note(rng, stage, ctx), PERSONA_EMAIL
        else:
            notes, owner = _say(rng, OTHER_DEAL_NOTES[stage], ctx), rng.choice(SELLERS).email
        rows.append(
            {
                "deal_name": f"{ctx['short']} — {ctx['product']} {rng.choice(DEAL_SUFFIXES)}",
                "stage": stage,
                "amount": ctx["amount"],
                "notes": notes,
                "owner_email": owner,
                "created_at": when,
            }
        )
    rows.sort(key=lambda r: r["created_at"])
    return [{"id": id_offset + i, **row} for i, row in enumerate(rows)]


# --------------------------------------------------------------------------
# Sticky notes (phrases/notes.yaml; Allan's lines are loaded with his voice).
# --------------------------------------------------------------------------

NOTE_THEMES = (
    ("pricing", 18),
    ("pilots", 8),
    ("process", 14),
    ("hiring", 10),
    ("pipeline", 14),
    ("product", 10),
    ("ideas", 9),
    ("clients", 12),
    ("coaching", 8),
)
OTHER_NOTES: tuple[tuple[str, str, tuple[str, ...]], ...] = tuple(
    (note["title"], note["content"], note["tags"]) for note in _NOTES["others"]
)


def _sentence_count(text: str) -> int:
    return len([part for part in re.split(r"(?<=[.!?])\s+|\n", text) if part.strip()])


def _note_ctx(rng: random.Random, when: datetime) -> dict[str, Any]:
    ctx = _base_ctx(rng, when)
    ask = rng.choice([20, 25, 30, 30, 35])  # sticky notes only record counters, so the ask stays under 40%
    ctx.update(_discount_decision(rng, ask, None))
    ctx["contact"] = ctx["contact"].lower()
    return ctx


def _allan_note(rng: random.Random, when: datetime) -> dict[str, Any]:
    theme = _weighted(rng, NOTE_THEMES)
    ctx = _note_ctx(rng, when)
    bank = NOTE_LINES[theme]
    k = min(len(bank), _weighted(rng, ((1, 3), (2, 4), (3, 3), (4, 1))))
    lines = [line.format(**ctx) for line in rng.sample(bank, k)]
    if theme not in ("hiring", "product", "ideas") and rng.random() < 0.25:  # a maxim scribbled underneath
        lines.append(rng.choice(NOTE_LINES["process"] + NOTE_LINES["pricing"][:6]).format(**ctx))
        lines = list(dict.fromkeys(lines))
    while len(lines) > 1 and _sentence_count(" ".join(lines)) > 6:  # sticky notes stay at 1-6 sentences
        lines.pop()
    tags = list(NOTE_THEME_TAGS[theme][: rng.randint(1, len(NOTE_THEME_TAGS[theme]))])
    return {
        "user_id": PERSONA_USER_ID,
        "title": _say(rng, NOTE_TITLES[theme], ctx).lower(),
        "content": "\n".join(lines),
        "tags": tags,
        "created_at": when,
    }


def _other_note(rng: random.Random, when: datetime) -> dict[str, Any]:
    ctx = _base_ctx(rng, when)
    title, content, tags = rng.choice(OTHER_NOTES)
    return {
        "user_id": rng.choice(TEAM).user_id,
        "title": title.format(**ctx),
        "content": content.format(**ctx),
        "tags": list(tags),
        "created_at": when,
    }


def _note_rows(
    rng: random.Random, lo: datetime, hi: datetime, n_allan: int, n_other: int, id_offset: int
) -> list[dict]:
    make = [_allan_note] * n_allan + [_other_note] * n_other
    rows = [note(rng, _rand_time(rng, lo, hi)) for note in make]
    rows.sort(key=lambda r: r["created_at"])
    return [{"id": id_offset + i, **row} for i, row in enumerate(rows)]


# --------------------------------------------------------------------------
# Public entry points
# --------------------------------------------------------------------------


def _streams(seed: int, label: str) -> dict[str, random.Random]:
    """One independent, seeded stream per table (string seeds hash stably)."""
    return {
        table: random.Random(f"doppel-demo:{label}:{seed}:{table}")
        for table in ("emails", "conversations", "deals", "notes")
    }


def generate(seed: int = 7, *, scale: float = 1.0) -> DemoData:
    """The demo CRM: ~600 emails, ~140 conversations (~900 messages), ~180 deals, ~220 sticky notes at scale 1.0.

    Identical output for the same seed; ``scale`` multiplies every count (each stays at least 1). All
    timestamps are UTC, within the two years up to :data:`ANCHOR`.
    """
    if not scale > 0:
        raise ValueError(f"scale must be positive, got {scale!r}")
    n = {key: max(1, round(size * scale)) for key, size in _SIZES.items()}
    rngs = _streams(seed, "base")
    lo, hi = ANCHOR - SPAN, ANCHOR
    emails = _email_rows(rngs["emails"], lo, hi, n["inbound_replied"], n["inbound_unreplied"], n["allan_new"], 1)
    conversations, messages = _conversation_rows(rngs["conversations"], lo, hi, n["allan_convs"], n["other_convs"], 1)
    deals = _deal_rows(rngs["deals"], lo, hi, n["allan_deals"], n["other_deals"], 1)
    notes = _note_rows(rngs["notes"], lo, hi, n["allan_notes"], n["other_notes"], 1)
    return DemoData(emails, conversations, messages, deals, notes)


def generate_new(
    since: datetime,
    seed: int,
    n_emails: int = 10,
    n_messages_convs: int = 3,
    n_deals: int = 3,
    n_notes: int = 5,
    id_offset: int = 1_000_000,
) -> DemoData:
    """Fresh records strictly after `since` (for tests of nightly incremental training).

    Same habits as :func:`generate`, new ids starting at `id_offset` in every table, times within the
    week after `since` (a naive `since` is taken as UTC). Composition:

    * ``n_emails`` emails in all: ``n_emails // 2`` from others to Allan, the rest written by Allan,
      about half of those replies to the new inbound ones (``in_reply_to`` stays inside the batch);
    * ``n_messages_convs`` conversations of Allan's (user_id 'allan'), 4-10 messages each;
    * ``n_deals`` deals owned by Allan and ``n_notes`` sticky notes by Allan.
    """
    if min(n_emails, n_messages_convs, n_deals, n_notes) < 0:
        raise ValueError("counts must not be negative")
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    lo, hi = since + timedelta(minutes=1), since + timedelta(days=7)
    rngs = _streams(seed, f"new:{since.isoformat()}")
    n_inbound = n_emails // 2
    n_replies = min(n_inbound, (n_emails - n_inbound + 1) // 2)
    emails = _email_rows(
        rngs["emails"], lo, hi, n_replies, n_inbound - n_replies, n_emails - n_inbound - n_replies, id_offset
    )
    conversations, messages = _conversation_rows(rngs["conversations"], lo, hi, n_messages_convs, 0, id_offset)
    deals = _deal_rows(rngs["deals"], lo, hi, n_deals, 0, id_offset)
    notes = _note_rows(rngs["notes"], lo, hi, n_notes, 0, id_offset)
    return DemoData(emails, conversations, messages, deals, notes)
