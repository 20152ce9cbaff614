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
from datetime import datetime, timedelta, timezone
from typing import Any

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
ANCHOR = datetime(2026, 6, 30, tzinfo=timezone.utc)
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
# Cast. Every name is invented; none contains "allan".
# --------------------------------------------------------------------------

ALLAN = Person("Allan", "Maverick", PERSONA_EMAIL, "VP of Sales", "Maverick Labs", "allan", "+1 (415) 555-0100",
               PERSONA_USER_ID)

PRODUCTS = {
    "TestPilot CPG": "shelf-testing analytics",
    "ShelfSense": "on-shelf availability and planogram tracking",
    "PromoLens": "promotion lift measurement",
    "PanelPulse": "always-on shopper panel surveys",
}
# TestPilot is the flagship, so it shows up most.
_PRODUCT_WEIGHTS = [("TestPilot CPG", 5), ("ShelfSense", 2), ("PromoLens", 2), ("PanelPulse", 1)]

# name, short name, category, domain, contacts (first, last, title, writing style)
_CLIENT_TABLE = [
    ("Acme Foods", "Acme", "salty snacks", "acmefoods.com",
     [("Dana", "Whitfield", "Director of Category Insights", "verbose"),
      ("Raj", "Menon", "Procurement Manager", "formal")]),
    ("Brightwell Beverages", "Brightwell", "sparkling drinks", "brightwellbev.com",
     [("Chloe", "Martens", "Insights Manager", "casual"), ("Victor", "Hale", "VP Marketing", "brisk")]),
    ("Northfield Dairy", "Northfield", "yogurt", "northfielddairy.com",
     [("Greta", "Olsen", "Shopper Insights Lead", "formal")]),
    ("Copperleaf Snacks", "Copperleaf", "better-for-you snacks", "copperleafsnacks.com",
     [("Marcus", "Bell", "Brand Director", "casual"), ("Aisha", "Rahman", "Procurement Specialist", "outlook")]),
    ("Pinecrest Home Care", "Pinecrest", "surface cleaners", "pinecresthome.com",
     [("Helen", "Ward", "Category Director", "outlook")]),
    ("Bluebird Pet Co", "Bluebird", "dry pet food", "bluebirdpet.co",
     [("Sam", "Kowalski", "Head of Insights", "casual")]),
    ("Harbor & Vine", "Harbor & Vine", "boxed wine", "harborandvine.com",
     [("Isabel", "Duarte", "Commercial Director", "verbose")]),
    ("Solace Skincare", "Solace", "facial skincare", "solaceskin.com",
     [("Nina", "Petrova", "Consumer Insights Manager", "casual"), ("Oliver", "Stanton", "Finance Director", "formal")]),
    ("Redstone Brewing", "Redstone", "craft beer", "redstonebrewing.com",
     [("Jake", "Morrow", "Brand Manager", "brisk")]),
    ("Kettle Ridge Soups", "Kettle Ridge", "canned soup", "kettleridge.com",
     [("Patricia", "Lowe", "Senior Manager, Insights", "formal")]),
    ("Oakmont Organics", "Oakmont", "organic pantry", "oakmontorganics.com",
     [("Theo", "Lambert", "Innovation Lead", "verbose")]),
    ("Sunny Acre Cereals", "Sunny Acre", "breakfast cereal", "sunnyacre.com",
     [("Rosa", "Jimenez", "Category Manager", "casual")]),
    ("Tidewater Seafood", "Tidewater", "frozen seafood", "tidewaterseafood.com",
     [("Frank", "Dolan", "VP Sales", "brisk")]),
    ("Glimmer Cosmetics", "Glimmer", "color cosmetics", "glimmercosmetics.com",
     [("Zoe", "Lin", "Insights Director", "casual"), ("Karen", "Pfeiffer", "Procurement Lead", "outlook")]),
    ("Fernway Baby", "Fernway", "baby care", "fernwaybaby.com",
     [("Megan", "Holt", "Head of Consumer Research", "verbose")]),
    ("Crestline Coffee", "Crestline", "ground coffee", "crestlinecoffee.com",
     [("Luca", "Romano", "Marketing Director", "formal")]),
    ("Marigold Bakery", "Marigold", "packaged bread", "marigoldbakery.com",
     [("Ben", "Archer", "Commercial Lead", "brisk")]),
    ("Summit Sports Nutrition", "Summit", "protein bars", "summitnutrition.com",
     [("Tyler", "Brooks", "Brand Manager", "casual")]),
    ("Willowbrook Candles", "Willowbrook", "home fragrance", "willowbrookcandles.com",
     [("Fiona", "Marsh", "Category Lead", "verbose")]),
    ("Polar Peak Frozen", "Polar Peak", "frozen desserts", "polarpeak.com",
     [("Erik", "Sandberg", "Insights Manager", "formal")]),
    ("Greenhollow Teas", "Greenhollow", "bagged tea", "greenhollowtea.com",
     [("Amara", "Osei", "Brand Director", "verbose")]),
    ("Lantern Household", "Lantern", "paper towels", "lanternhousehold.com",
     [("Gregory", "Fitch", "Procurement Director", "outlook")]),
    ("Riverbend Spirits", "Riverbend", "ready-to-drink cocktails", "riverbendspirits.com",
     [("Carmen", "Vega", "Innovation Manager", "casual")]),
    ("Ironwood Grills", "Ironwood", "barbecue sauces", "ironwoodgrills.com",
     [("Doug", "Hensley", "Sales Director", "brisk")]),
]


def _build_clients() -> tuple[Client, ...]:
    clients = []
    for i, (name, short, category, domain, contacts) in enumerate(_CLIENT_TABLE):
        people = tuple(
            Person(first, last, f"{first.lower()}.{last.lower()}@{domain}", title, name, style,
                   f"+1 (312) 555-{140 + 7 * i + j:04d}")
            for j, (first, last, title, style) in enumerate(contacts)
        )
        clients.append(Client(name, short, category, people))
    return tuple(clients)


CLIENTS = _build_clients()


def _mav(first: str, last: str, title: str, style: str, user_id: str, ext: int) -> Person:
    return Person(first, last, f"{first.lower()}.{last.lower()}@maverick-labs.com", title, "Maverick Labs", style,
                  f"+1 (415) 555-{ext:04d}", user_id)


# Allan's team: they ask him things, own some deals and have their own notes.
TEAM = (
    _mav("Maria", "Chen", "Account Executive", "casual", "maria", 121),
    _mav("Dev", "Patel", "Sales Operations Manager", "brisk", "dev", 122),
    _mav("Priya", "Nair", "Senior Account Executive", "verbose", "priya", 123),
    _mav("Tom", "Becker", "Solutions Engineer", "formal", "tom", 124),
    _mav("Jordan", "Reyes", "SDR Lead", "casual", "jordan", 125),
    _mav("Lena", "Okafor", "Marketing Director", "verbose", "lena", 126),
)
SELLERS = TEAM[:3] + TEAM[4:5]  # people who own deals
CEO = _mav("Sofia", "Grant", "CEO", "brisk", "sofia", 101)
DEAL_DESK = _mav("Marcus", "Lindqvist", "Finance & Deal Desk", "formal", "marcus", 130)

PARTNERS = (
    Person("Owen", "Hartley", "owen.hartley@northstar-retail.com", "Partner Manager", "Northstar Retail Partners",
           "verbose", "+1 (646) 555-0182"),
    Person("Beatriz", "Souza", "beatriz@aislenine.co", "Managing Partner", "Aisle Nine Consulting", "casual",
           "+1 (737) 555-0119"),
    Person("Kenji", "Mori", "kenji.mori@shelfwise-agency.com", "Director", "ShelfWise Agency", "formal",
           "+1 (206) 555-0164"),
)
VENDORS = (
    Person("Chad", "Winters", "chad.winters@leadrocket.io", "Account Executive", "LeadRocket", "verbose",
           "+1 (512) 555-0133"),
    Person("Emily", "Stroud", "emily@dataforge.ai", "Growth Lead", "DataForge", "casual", "+1 (628) 555-0177"),
)
RECRUITER = Person("Hannah", "Pryce", "hannah.pryce@talentbridge.com", "Senior Recruiter", "TalentBridge",
                   "verbose", "+1 (917) 555-0148")

COMPETITORS = ("ShelfIQ", "RetailScope", "CartMetrics", "Aislewise")
CANDIDATES = ("Rebecca Shaw", "Nathan Cole", "Imani Forde", "Daniel Ruiz", "Hugo Petit", "Sara Lindgren",
              "Kwame Asante", "Julia Novak")
# Vocabularies of the deal stage and sticky-note tag columns.
STAGES = ("prospecting", "qualification", "proposal", "negotiation", "closed_won", "closed_lost")
NOTE_TAGS = ("pricing", "hiring", "pipeline", "product", "ideas", "clients", "process", "coaching", "forecast",
             "partners")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")

# Conditions Allan trades a discount for. No digits on purpose: the only
# percentages in a discount answer are the ask and the counter.
TRADES = ("an annual prepay", "a two-year term", "a three-year term", "annual prepay on a two-year term")

# --------------------------------------------------------------------------
# Allan's voice: phrase banks. Placeholders are filled with str.format from a
# per-record context (first, client, short, product, amt, day, ...).
# --------------------------------------------------------------------------

SIGN_OFF = "Cheers,\nAllan"
SHORT_SIGN_OFF = "— A"
IPHONE = "Sent from my iPhone"

NEXT_STEP = (
    "Next step: {step} on {day}. Works?",
    "Can we lock {step} for {day}?",
    "Let's put {step} on the calendar for {day}.",
    "Next step with a date: {step}, {day}.",
    "Proposing {step} on {day}. If that doesn't work, send me a date that does.",
    "I'd like {step} on {day}. Too early?",
)
STEPS = (
    "a 30-minute call", "a pricing walkthrough", "a call with whoever signs",
    "a working session with your insights team",
    "a quick demo for your VP", "a call with procurement", "the contract review", "a kickoff call",
)
INTERNAL_NEXT = (
    "Get a date for the next step before you hang up.",
    "Next step with a date, or it doesn't go in commit.",
    "Put the next step in the CRM with a date. No date, no next step.",
    "Send me the date once you have it.",
)
BLOCKER = (
    "What's the real blocker?",
    "What's the real blocker here — budget, timing, or someone we haven't met?",
    "What's the real blocker? If it's budget, let's talk terms. If it's timing, give me a date.",
    "Before anything else: what's the real blocker?",
    "Help me understand the real blocker. Price is rarely it.",
)
CALL_OFFER = (
    "Happy to jump on a call.",
    "Happy to jump on a call if that's easier.",
    "Happy to jump on a call this week and walk through it.",
    "If it helps, happy to jump on a call with your CFO.",
)

# Discount answers. {ask} is the client's ask, {c} Allan's counter (always <= 15), {cond} the trade.
DISCOUNT_TO_CLIENT = {
    "counter": (
        "Can't do {ask}%. What I can do is {c}% off list with {cond}. That's the ceiling.",
        "{ask}% isn't on the table. {c}% with {cond} is.",
        "Straight answer: {ask}% won't work. {c}% in exchange for {cond} will.",
        "Let's keep it simple — {c}% off, with {cond}. {ask}% isn't something we do.",
        "I hear you on budget. {ask}% is a no. {c}% with {cond} is a yes today.",
    ),
    "small": (
        "Happy to do {ask}%, but it comes with {cond}. Single year stays at list.",
        "{ask}% works if we get {cond} in return. That's the trade.",
    ),
    "accept": (
        "{ask}% with {cond} works. Done.",
        "Yes to {ask}% for {cond}. That's a fair trade.",
        "Deal — {ask}% off in exchange for {cond}. No-brainer for both sides.",
    ),
    "decline": (
        "{ask}% isn't happening. We're not the cheapest and we don't try to be.",
        "We can't get anywhere near {ask}%. We're not the cheapest and we don't try to be.",
        "Appreciate the honesty, but {ask}% off is a no. We're not the cheapest and we don't try to be.",
    ),
}
DISCOUNT_WHY = {
    "counter": (
        "Bottom line: we don't discount without getting something back.",
        "Price anchors high so the discount stays small. That's how we keep investing in the product you're buying.",
        "That's the best number anyone gets from us, and it's the same number your competitors get.",
        "Not a fan of games at the end of the quarter. This is the real number.",
    ),
    "accept": (
        "Send over the paper and we'll turn it around same day.",
        "I'll have the order form updated today.",
        "Bottom line: you commit, we commit. Simple.",
    ),
    "decline": (
        "If {product} doesn't pay for itself by killing one bad launch, we shouldn't be working together. "
        "I think it does.",
        "If price is the whole conversation, we're probably not the right fit right now. No hard feelings.",
        "I'd rather walk away friends than discount us into a bad deal.",
        "Bottom line: we win on results, not on price.",
    ),
}
DISCOUNT_TO_TEAM = {
    "counter": (
        "No on {ask}%. Offer {c}% with {cond}. That's the ceiling.",
        "Counter at {c}% with {cond}. {ask}% isn't happening.",
        "{c}%, and only with {cond}. Don't go higher — nobody does.",
        "Tell them {ask}% is off the table. {c}% if they give us {cond}.",
        "Let's keep it simple: {c}% for {cond}. Anything past that is a no.",
    ),
    "small": (
        "Fine on {ask}%, but only with {cond}.",
        "Yes to {ask}% if they sign {cond}. Single year stays at list.",
    ),
    "accept": (
        "Approve {ask}% for {cond}. No-brainer.",
        "Yes. {ask}% with {cond} is a fair trade. Get it signed.",
    ),
    "decline": (
        "Walk. At {ask}% they're buying on price, and we're not the cheapest and we don't try to be.",
        "No. At {ask}% we're not selling, we're donating. Walk away politely.",
        "Decline. We're not the cheapest and we don't try to be.",
    ),
}
# Sticky-note lines: terse, lowercase, arrows, maxims.
NOTE_LINES = {
    "pricing": (
        "price anchors high -> discount small.", "max 15%. only for prepay or multi-year.",
        "30% ask -> 12% + annual prepay. every time.", "40%+ ask -> walk. we're not the cheapest.",
        "never discount before they ask.", "discount = trade. never a gift.",
        "{short} wants {ask}% -> counter {c}% w/ {cond}.", "list price is the price. bottom line.",
    ),
    "pilots": (
        "no free pilots. ever.", "paid pilot -> credited vs year one.", "free pilot = no owner, no decision.",
        "{short} asked for free pilot -> said no. paid pilot or nothing.",
    ),
    "process": (
        "procurement > 90 days = dead deal. walk.", "ask every call: what's the real blocker?",
        "no date = no next step.", "who signs? if we don't know, we don't have a deal.",
        "proposals get walked through live. never emailed cold.", "one thread, one owner.",
    ),
    "hiring": (
        "hire cpg scars > shiny logos.", "base in band. upside in variable.", "test: can they say no to a client?",
        "{candidate} -> strong. case exercise w/ dev {day}.", "{candidate2} -> talks a lot, asks nothing. pass.",
        "need 2 AEs by {month}. mid-market brands.",
    ),
    "pipeline": (
        "{short}: {days} days in proposal -> nudge {day}.", "commit = signed next step w/ date. nothing else.",
        "fewer deals, bigger deals.", "{short} -> upside, not commit. no signer yet.",
        "{short} {amt} -> real. champion in insights team.",
    ),
    "product": (
        "{short} asked for {feature} -> 3rd time this quarter. tell product.",
        "promolens + testpilot bundle -> easier yes.", "shelfsense demo too long. cut to 10 min.",
        "panelpulse sells itself to insights teams. not to brand.", "{feature} -> would move the needle on renewals.",
    ),
    "ideas": (
        "quarterly walk-away review -> what did we learn?", "case study w/ {short} -> move the needle on mid-market.",
        "kill the starter tier idea. not a fan.", "customer dinner in {month} -> champions only.",
        "renewal playbook: bundle, flat price, prepay. let's keep it simple.",
    ),
    "clients": (
        "{short}: champion = {contact}. exec sponsor = ?", "{short} renewal in {month} -> bundle {product2}.",
        "{short} wants exclusivity in {category} -> no.", "{short} -> happy. ask for referral.",
        "{contact} moving to new role -> meet the replacement before {month}.",
    ),
    "coaching": (
        "{tm}: stop discounting first. anchor, hold, trade.", "1:1 w/ {tm} -> walk proposals live, not email.",
        "{tm} crushed {short}. call it out on monday.", "{tm} -> ask for the date. every call.",
    ),
}
NOTE_TITLES = {
    "pricing": ("pricing", "discount rules", "price anchors", "{short} pricing", "discounts"),
    "pilots": ("pilots", "pilot policy", "{short} pilot ask", "free pilots"),
    "process": ("deal rules", "procurement", "next steps", "call checklist"),
    "hiring": ("hiring", "ae hiring", "{candidate}", "comp plan"),
    "pipeline": ("pipeline", "q{q} commit", "stalled deals", "{short} deal"),
    "product": ("product asks", "feedback for product", "{product}", "demo notes"),
    "ideas": ("ideas", "idea", "later", "try this"),
    "clients": ("{short}", "{short} -> next", "accounts", "{short} renewal"),
    "coaching": ("1:1 {tm}", "coaching", "team", "{tm}"),
}
NOTE_THEME_TAGS = {
    "pricing": ("pricing",), "pilots": ("pricing", "process"), "process": ("process", "pipeline"),
    "hiring": ("hiring",), "pipeline": ("pipeline", "forecast"), "product": ("product", "ideas"),
    "ideas": ("ideas",), "clients": ("clients", "pipeline"), "coaching": ("coaching", "hiring"),
}
FEATURES = ("e-commerce shelf tests", "retailer-level cuts", "pack claims testing", "an API export",
            "weekly alerts", "SSO", "price ladder tests")


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
    end = datetime(dt.year + end_month // 12, end_month % 12 + 1, 1, tzinfo=timezone.utc)
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

STYLE_GREETING = {
    "formal": ("Dear Allan,", "Dear Mr. Maverick,", "Dear Allan,"),
    "verbose": ("Hi Allan,", "Hello Allan,", "Good morning Allan,"),
    "casual": ("Hey Allan! 👋", "Hi Allan!", "Hiya Allan 🙂", "Morning Allan!"),
    "brisk": ("Allan,", "Allan —", "Hi,"),
    "outlook": ("Hello Allan,", "Good afternoon Allan,", "Hi Allan,"),
}
STYLE_OPENER = {
    "formal": ("I trust this message finds you well.", "Thank you for your time earlier this month.", ""),
    "verbose": (
        "I hope this email finds you well and that you had a lovely weekend!",
        "I hope you're doing well and that the quarter is treating you kindly.",
        "Thank you so much again for taking the time to speak with us — it was genuinely helpful for the whole team.",
    ),
    "casual": ("Hope your week's going great!", "Quick one for you 😊", "", "Happy Friday!! 🎉"),
    "brisk": ("",),
    "outlook": ("I hope you are well.", "", "Following up on the below."),
}
STYLE_CLOSER = {
    "formal": ("I look forward to your response.", "Please let me know at your earliest convenience.",
               "I would be grateful for your confirmation."),
    "verbose": (
        "Please don't hesitate to reach out if you have any questions whatsoever — happy to provide any additional "
        "context that might be helpful.",
        "Looking forward to hearing your thoughts, and thanks again for all of your help with this!",
        "Thanks so much in advance, and please let me know if there is anything at all you need from our side.",
    ),
    "casual": ("Lmk what you think! 🙏", "Thanks a ton!! 🙌", "Talk soon ✌️", "Would be amazing to sort this out 🤞"),
    "brisk": ("Let me know.", "Need an answer by end of week.", ""),
    "outlook": ("Please advise.", "Thank you in advance for your assistance.", "Kindly revert at your convenience."),
}
# Earlier lines of Allan's that others' emails quote back at him (the cleaner strips these).
ALLAN_EARLIER = (
    "What's the real blocker? Give me a date and I'll make it work.",
    "Happy to jump on a call this week. Tue or Thu?",
    "Proposal attached. Let's keep it simple — one product, one price, annual.",
    "Checking in. Where did we land?",
    "Bottom line: paid pilot, credited against year one.",
)


def _signature(rng: random.Random, p: Person) -> str:
    style = p.style
    if style == "formal":
        sig = f"Kind regards,\n{p.name}\n{p.title}, {p.company}"
        return sig + (f"\n\n-- \n{p.name}\n{p.title}\n{p.company}\nT: {p.phone}" if rng.random() < 0.4 else "")
    if style == "verbose":
        closing = rng.choice(["Best regards", "Warm regards", "Many thanks"])
        return f"{closing},\n{p.name}\n{p.title} | {p.company}\n{p.phone}"
    if style == "casual":
        return rng.choice(["Thanks!", "Cheers!!", "xx", "Thank you!"]) + f"\n{p.first}"
    if style == "brisk":
        return rng.choice([f"{p.first}", f"Thanks,\n{p.first}", f"- {p.first[0]}"])
    return (f"Best regards,\n{p.name}\n\n-- \n{p.name} | {p.title}\n{p.company}\nTel: {p.phone}\n"
            "This e-mail is confidential.")


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
        paras[-1] = paras[-1] + " " + rng.choice(["🙂", "😅", "🚀", "🙏", "👀"])
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


def _base_ctx(rng: random.Random, when: datetime, client: Client | None = None,
              contact: Person | None = None) -> dict[str, Any]:
    """Everything a template may name, drawn once per record."""
    client = client or rng.choice(CLIENTS)
    contact = contact or rng.choice(client.contacts)
    product = _product(rng)
    amount = _deal_amount(rng)
    candidates = rng.sample(CANDIDATES, 2)
    commit = rng.randrange(600_000, 2_400_000, 50_000)  # a quarter's commit, for forecast talk
    return {
        "client": client.name, "short": client.short, "category": client.category,
        "contact": contact.first, "contact_full": contact.name, "first": contact.first,
        "product": product, "product2": _other_product(rng, product), "what": PRODUCTS[product],
        "amount": amount, "amt": _k(amount), "usd": _usd(amount),
        "day": _future_day(rng, when), "day2": _future_day(rng, when, 3, 12), "step": rng.choice(STEPS),
        "competitor": rng.choice(COMPETITORS), "quarter": _quarter(when), "q": (when.month - 1) // 3 + 1,
        "month": MONTHS[(when.month + rng.randint(0, 3)) % 12], "tm": rng.choice(SELLERS).first,
        "candidate": candidates[0], "candidate2": candidates[1], "feature": rng.choice(FEATURES),
        "days": rng.randint(20, 140), "n": rng.choice([14, 21, 30, 45, 60]), "title": contact.title,
        "big": _money(commit), "big2": _money(commit + rng.randrange(200_000, 900_000, 50_000)),
    }


# --------------------------------------------------------------------------
# Emails others send to Allan. Each scenario returns (sender, subject, core
# paragraphs, ctx); ctx carries what Allan's reply needs (e.g. the ask).
# --------------------------------------------------------------------------

INBOUND_CORE = {
    "discount": (
        "We have reviewed the proposal for {product} and, while the team is enthusiastic, the price is above what we "
        "budgeted. To move forward we would need a {ask}% reduction on the quoted {usd}.",
        "Finance has come back on the {product} quote. They can approve it if we get to {ask}% off list.",
        "We'd love to go ahead with {product}, but we need {ask}% off to get this through this year's budget.",
        "Our leadership reviewed the {product} proposal yesterday. The feedback was clear: we need {ask}% off the "
        "annual fee to proceed.",
    ),
    "free_pilot": (
        "Before we commit to {product}, our team would like to run a {n}-day pilot at no cost to validate the results "
        "on our {category} range.",
        "Would Maverick Labs be open to a free pilot of {product}? Our previous vendor offered one and it made the "
        "internal approval much easier.",
        "We are keen on {product} but need a complimentary proof of concept first. "
        "Could we set up a free {n}-day trial?",
    ),
    "procurement": (
        "I wanted to give you an update: the {product} agreement is still with our procurement team. They have asked "
        "for additional vendor documentation and I don't have a firm timeline yet. I know it has been about {weeks} "
        "weeks now.",
        "Procurement has added a security questionnaire to the process, so the {product} contract will take a bit "
        "longer. We have been in this review for roughly {weeks} weeks, apologies.",
        "Quick update — legal and procurement are still reviewing the {product} paperwork "
        "({weeks} weeks and counting). "
        "I'm pushing internally.",
    ),
    "exclusivity": (
        "As part of the {product} agreement, we would require category exclusivity in {category} — i.e. Maverick Labs "
        "would not work with our direct competitors for the contract term.",
        "Our leadership has asked that any agreement include exclusivity in {category}. Is that something you can "
        "accommodate?",
    ),
    "meeting": (
        "Could we find 30 minutes next week to go through {product} with my team? We're planning our {category} "
        "launches for next year.",
        "My VP would like to see a demo of {product}. Would you have availability on {day} or {day2}?",
        "Are you free for a quick catch-up sometime next week? A few questions came up internally about {product}.",
    ),
    "proposal_request": (
        "Thanks for the demo of {product}. Could you send a formal proposal with pricing so I can share it internally?",
        "The team is aligned on moving forward with an evaluation of {product}. Please send over pricing and "
        "contract terms when you get a chance.",
    ),
    "renewal": (
        "Our {product} subscription comes up for renewal in {month}. Before we start the process I wanted to check "
        "what pricing will look like for next year, and whether {product2} could be added.",
        "We are planning budgets for next year and would like to understand the renewal terms for {product}.",
    ),
    "partner": (
        "Following our call, we'd like to formalise a referral arrangement for {product}. We have two or three CPG "
        "clients, including one in {category}, that would be a strong fit.",
        "We're planning a joint webinar series for the autumn and would love Maverick Labs to co-host one session on "
        "{product}. Would that be of interest?",
        "{client} asked us for a recommendation on {what} tools. We suggested {product}. Would you be open to a "
        "referral fee for introductions like this?",
    ),
    "ceo_forecast": (
        "Board prep. Need your {quarter} commit and best case by {day}. Also where we are on {client}.",
        "What's the {quarter} number looking like? Board call is {day}.",
    ),
}
# (product, client's question, Allan's answer)
PRODUCT_QA = (
    ("TestPilot CPG", "Can TestPilot CPG test e-commerce shelf layouts as well as physical shelves?",
     "Yes. TestPilot runs digital shelf tests the same way as physical ones. Same panel, same norms."),
    ("TestPilot CPG", "How long does a typical shelf test take from brief to results?",
     "About two weeks from brief to results. Faster if your artwork is final."),
    ("PromoLens", "Does PromoLens integrate with retailer POS data?",
     "Yes. PromoLens reads POS feeds from the big retailers. Setup is on us."),
    ("ShelfSense", "Does ShelfSense work with store photos taken by our field reps?",
     "Yes. ShelfSense takes photos straight from the rep's phone. No extra hardware."),
    ("PanelPulse", "Can PanelPulse target specific shopper segments, e.g. lapsed buyers?",
     "Yes — by retailer, category buyer and lapsed buyer. Lapsed is the popular one."),
    ("TestPilot CPG", "Can we export TestPilot results into our own BI dashboards?",
     "CSV export today, API for enterprise accounts. Most teams live in the dashboard anyway."),
    ("PanelPulse", "How many shoppers are in a typical PanelPulse wave?",
     "Enough to read your brand against the category norm, every month. The exact size depends on the category."),
)
TEAM_ASKS = {
    "discount": (
        "{short} is pushing for {ask}% off on the {product} deal ({amt}). They say it's budget. Can I approve?",
        "Need a call on {short}: they want {ask}% off list for {product}. What do you want me to offer?",
    ),
    "proposal_timing": (
        "Should I send the {short} proposal to {contact} before Thursday's call or walk them through it live?",
        "{contact} at {short} asked for the proposal ahead of our call. Send it now?",
    ),
    "free_pilot": (
        "{short} wants a free {n}-day pilot of {product} before signing. Ok to set it up?",
    ),
    "procurement": (
        "{short} has been in procurement for {days} days. Keep it in commit for {quarter}?",
        "Still no signature from {short} — procurement says another few weeks. We're at {days} days. Thoughts?",
    ),
    "hiring": (
        "Two finalists for the AE role: {candidate} (sold into CPG brands for years) and {candidate2} (enterprise "
        "SaaS, big logos). Who do you want in the final round?",
    ),
    "exclusivity": (
        "{short} wants exclusivity in {category} written into the {product} contract. How do you want to handle it?",
    ),
}
UNREPLIED_CORE = {
    "thanks": (
        "Thanks again for the session yesterday — the team found it really useful.",
        "Just wanted to say thank you for the quick turnaround on the {product} paperwork.",
    ),
    "ooo": (
        "I am currently out of the office with limited access to email, returning {day2}. For urgent matters please "
        "contact our team inbox.",
    ),
    "newsletter": (
        "Here is this month's retail trends digest: private label keeps gaining share in {category}, and two major "
        "retailers are shortening their reset calendars. Full report attached.",
    ),
    "vendor_pitch": (
        "I noticed Maverick Labs is growing its sales team. Teams like yours use our platform to book 40% more "
        "meetings with automated sequences. Would you be open to a 15-minute chat next week?",
        "We help B2B sales leaders forecast with AI-driven deal scoring. Could I send over a short case study?",
    ),
    "recruiter": (
        "I have two strong enterprise sales candidates who are open to new roles. Would you like me to send profiles?",
    ),
    "internal_fyi": (
        "FYI — updated the forecast sheet with this week's numbers. {short} moved to proposal.",
        "Heads up: marketing webinar on {what} is next {day2}. Slides are in the shared drive.",
        "Logged the {short} call notes in the CRM.",
    ),
    "calendar": ("Confirming our meeting on {day} at 2pm ET. Dial-in details are in the invite.",),
    "finance": ("Invoice for {client} ({usd}) has been paid in full. Marking it closed in the billing system.",),
}

INBOUND_SUBJECTS = {
    "discount": ("{product} pricing", "{product} proposal", "Budget for {product}", "{product} — commercial terms"),
    "free_pilot": ("{product} pilot", "Pilot request", "Trial of {product}"),
    "procurement": ("{product} contract status", "Procurement update", "Update on paperwork"),
    "exclusivity": ("Contract terms — exclusivity", "{product} agreement"),
    "meeting": ("Catch-up next week?", "{product} demo", "Quick call?"),
    "proposal_request": ("Proposal for {product}", "Next steps on {product}"),
    "product_question": ("Question about {product}", "{product} question"),
    "renewal": ("{product} renewal", "Renewal in {month}"),
    "partner": ("Partnership", "Quick idea", "Following up on our call"),
    "ceo_forecast": ("{quarter} number", "Board prep"),
    "team": ("{short}", "{short} — need your call", "Quick q on {short}"),
    "thanks": ("Thank you", "Thanks!"),
    "ooo": ("Out of office",),
    "newsletter": ("Northstar Retail Digest — {month}",),
    "vendor_pitch": ("Quick question", "Growing the Maverick Labs sales team?"),
    "recruiter": ("Sales candidates", "AE profiles"),
    "internal_fyi": ("FYI", "forecast sheet", "{short} notes"),
    "calendar": ("Confirmed: {day}",),
    "finance": ("Paid: {client}",),
}
# Scenarios Allan answers, and ones he lets sit, with rough weights.
REPLIED_KINDS = (("discount", 22), ("free_pilot", 8), ("procurement", 8), ("exclusivity", 5), ("meeting", 10),
                 ("proposal_request", 8), ("product_question", 7), ("renewal", 6), ("team", 17), ("ceo_forecast", 3),
                 ("partner", 6))
UNREPLIED_KINDS = (("thanks", 18), ("ooo", 10), ("newsletter", 12), ("vendor_pitch", 16), ("recruiter", 8),
                   ("internal_fyi", 20), ("calendar", 10), ("finance", 6))
CLIENT_KINDS = {"discount", "free_pilot", "procurement", "exclusivity", "meeting", "proposal_request",
                "product_question", "renewal", "thanks", "ooo", "calendar"}
TEAM_SUBS = (("discount", 5), ("proposal_timing", 3), ("free_pilot", 2), ("procurement", 3), ("hiring", 2),
             ("exclusivity", 1))

# Allan's replies, slot by slot: one template from each slot, in order.
REPLY_SLOTS: dict[str, tuple[tuple[str, ...], ...]] = {
    "free_pilot": (
        ("We don't do free pilots — paid pilot, credited against year one.",
         "Short answer: no free pilot. Paid pilot, credited against year one, so it costs you nothing extra "
         "if it works.",
         "Not a fan of free pilots, and not because of the money. Paid pilot, credited against year one."),
        ("Free pilots don't get attention. Paid ones get an owner and a decision.",
         "If it works, you've already paid for the start of year one. If it doesn't, you've learned something cheap.",
         "Bottom line: skin in the game on both sides is what makes a pilot real."),
        NEXT_STEP,
    ),
    "exclusivity": (
        ("We don't do category exclusivity.", "Exclusivity in {category} is a no from us.",
         "Straight answer on exclusivity: no."),
        ("The benchmark across the category is the value. Lock it to one brand and you get a worse product.",
         "Fewer brands in the data means weaker norms. It hurts you more than it helps.",
         "We've walked from deals over this before. Not a fan, and it's not personal."),
        ("If that's a deal-breaker, I get it, and we part friends.",
         "Happy to jump on a call and talk about what we can do instead — early access to new features, "
         "a named analyst."),
    ),
    "meeting": (
        ("Happy to jump on a call.", "Works for me.", "Yes. Let's do it."),
        ("{day} or {day2}, any time after 10 ET.", "How about {day} at 11 ET? If not, {day2}.",
         "{day} works. Send the invite."),
        ("Bring whoever signs. Saves us a meeting.", "Come with the real blocker and we'll spend the time on that.",
         "Let's keep it simple — 30 minutes, your questions first."),
    ),
    "proposal_request": (
        ("Sending the proposal for {product} today.", "Yes — proposal goes out today.", "On it."),
        ("One product, one price, annual. Let's keep it simple.",
         "Heads-up: the price is list. We don't play end-of-quarter games.",
         "{amt} a year for {product}, all in. No surprises later."),
        ("Rather than send it cold, can we walk through it live? Twenty minutes, {day}.",
         "I'd rather walk you through it than have it sit in an inbox. {day} work?",
         "Once you've read it — what's the real blocker to a yes? Next step: {step} on {day}."),
    ),
    "renewal": (
        ("Thanks for the heads-up on the renewal.", "Glad {product} is earning its keep.", "Good timing."),
        ("Renewal stays flat if you prepay annually. No-brainer.",
         "If you add {product2}, I'll bundle it — same terms, one invoice.",
         "Price stays where it is. Adding {product2} is where it gets interesting."),
        NEXT_STEP,
    ),
    "partner": (
        ("Thanks for this.", "Appreciate you thinking of us.", "Good to hear from you."),
        ("Referral fee is the same as we agreed for everyone. Let's keep it simple.",
         "Not a fan of joint webinars — they don't move the needle. A joint customer story does.",
         "If you've got two more brands like {client}, that moves the needle for both of us."),
        ("Happy to jump on a call {day}.", "Next step: send me the intros and I'll take it from there."),
    ),
    "ceo_forecast": (
        ("Commit {big}. Best case {big2}.", "{quarter}: commit {big}, best case {big2}."),
        ("{short} is the swing deal. Champion is solid, procurement is the unknown.",
         "We walked from two deals this month — one wanted a free pilot, one wanted exclusivity. "
         "Right call both times.",
         "Price is holding. Nobody went past the discount ceiling."),
        ("Bottom line: we land commit.", "I'll have a date on {short} by {day}."),
    ),
    "procurement_long": (
        ("It's been {days} days in procurement. I think we both know what that means.",
         "We're at {days} days. That's past my line.", "{days} days in procurement is a deal that isn't happening."),
        ("Unless we get a signature date this week, I'll close this out on our side. No hard feelings — happy to "
         "reopen when the timing is real.",
         "Let's call it: I'll close it out for now and we revisit when there's a real date. Better for both of us "
         "than another quarter of maybes."),
        BLOCKER,
    ),
    "procurement_short": (
        ("Thanks for the update.", "Appreciate the heads-up.", "Understood."),
        ("What's the real blocker — security review, legal, or budget sign-off?",
         "Who in procurement owns this? Happy to jump on a call with them directly.",
         "Send me the questionnaire. We'll turn it around in two days."),
        NEXT_STEP,
    ),
    "product_question": (
        ("{answer}",),
        ("Bottom line: it's built for teams like yours.", "Let's keep it simple — I'll show you on your own data.",
         "That's the bit that moves the needle for most insights teams."),
        CALL_OFFER + NEXT_STEP[:2],
    ),
}
# Allan answering his own team (internal voice: imperative, even shorter).
TEAM_REPLY_SLOTS: dict[str, tuple[tuple[str, ...], ...]] = {
    "proposal_timing": (
        ("Walk them through it live. Proposals sent cold get forwarded to procurement and die there.",
         "Don't send it before the call. Send a one-pager after, once they've heard the number from you.",
         "Live. Always live. Let's keep it simple: you present, they react, you send it after."),
        ("Anchor high, then stop talking.", "If they ask for the number on the call, give it. Don't apologise for it.",
         "Ask what's the real blocker before you hang up."),
        INTERNAL_NEXT,
    ),
    "free_pilot": (
        ("No. We don't do free pilots — paid pilot, credited against year one.",
         "Paid pilot, credited against year one. No free pilots, ever."),
        ("If they won't pay for a pilot, they won't pay for the product.",
         "Free pilots have no owner and no decision. Not a fan."),
        INTERNAL_NEXT,
    ),
    "procurement_long": (
        ("Take it out of commit. {days} days in procurement is a dead deal.",
         "Over 90 days in procurement — we walk. Move it to closed lost."),
        ("Send a polite break-up email. Half the time that's what gets it signed.",
         "Bottom line: we don't chase paper forever."),
    ),
    "procurement_short": (
        ("Upside, not commit, until there's a signature date.", "Keep it in upside for now."),
        ("Ask {contact} what's the real blocker. Then get a date.",),
        INTERNAL_NEXT,
    ),
    "hiring": (
        ("{candidate}. CPG scars beat shiny logos.",
         "Bring {candidate} to the final round. {candidate2} would need six months to learn the buyer."),
        ("Ask both the same question: tell me about a deal you walked away from.",
         "Not a fan of paying for logos. Pay for judgement."),
        ("Case exercise with Dev on {day}.", "Get it scheduled for {day}."),
    ),
    "exclusivity": (
        ("No exclusivity. Tell them kindly.", "We don't sell exclusivity in any category."),
        ("The benchmark across brands is the product. Lock it and we break it.",),
        ("If it's a deal-breaker, we walk. Politely.", "Happy to jump on a call with them if it helps."),
    ),
}


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
    return {"ceo_forecast": CEO, "finance": DEAL_DESK, "recruiter": RECRUITER, "newsletter": PARTNERS[0],
            "partner": rng.choice(PARTNERS), "vendor_pitch": rng.choice(VENDORS)}[kind]


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
    return {"subject": subject, "body": _allan_body(rng, sender.first, paras, quote), "sent_at": when,
            "sender_email": PERSONA_EMAIL, "recipient_email": sender.email}


# --------------------------------------------------------------------------
# Emails Allan starts himself.
# --------------------------------------------------------------------------

PAINS = (
    "you run {n} shelf tests a year, mostly in spreadsheets",
    "launch decisions take six weeks because the data shows up late",
    "promo spend is up and nobody can say what actually moved",
    "the insights team is two people covering every brand",
    "retailer resets keep catching you off guard",
    "pack changes go to market without a shopper read",
)
NEW_SLOTS: dict[str, tuple[tuple[str, ...], ...]] = {
    "client_recap": (
        ("Good call today. Quick recap:", "Thanks for the time today. Here's what I heard:",
         "Short recap so nothing gets lost:"),
        ("{pains}",),
        ("{product} fixes the first one on day one. The rest follows.",
         "That's exactly where {product} moves the needle.",
         "My take: start with {product} on {category}, expand once it proves out. Let's keep it simple."),
        NEXT_STEP,
    ),
    "client_checkin": (
        ("Haven't heard back since {lastday}. No stress — but I want to know where we stand.",
         "Checking in on the {product} proposal.", "Quick nudge on {product}."),
        ("What's the real blocker? Budget, timing, or someone we haven't met yet?",
         "If something changed on your side, just tell me. A straight no beats a slow maybe.",
         "If it's budget, let's talk terms. If it's timing, give me a date."),
        ("Happy to jump on a call if easier.", "{day} works for a quick call on my side.",
         "Next step with a date and I'm happy."),
    ),
    "proposal": (
        ("Proposal for {product} attached. {amt} a year, all in.",
         "Attached: {product}, annual, {amt}. One page. No surprises.",
         "Here's the proposal. {amt} for {product}, twelve months."),
        ("Bottom line: you get results on your first test inside a month.",
         "The price is list and it stays put — no games at the end of the quarter.",
         "No free pilot — but a paid pilot is credited against year one, so nothing is wasted."),
        NEXT_STEP,
    ),
    "cold_intro": (
        ("Saw {client} is launching new {category} lines this year. Congrats.",
         "Noticed {client} just went through a big {category} reset.", "Your team's {category} launch caught my eye."),
        ("We help brands like yours test shelf and pack before launch with TestPilot CPG. Real shoppers, results in "
         "two weeks.",
         "Most {category} brands we meet still test launches in spreadsheets. "
         "TestPilot CPG replaces that in two weeks."),
        ("Worth 20 minutes? Happy to jump on a call {day}.",
         "If it's not a priority, tell me and I'll go away. If it is — {day}?"),
    ),
    "team_update": (
        ("Pipeline check for the week of {weekof}.", "Quick one before the weekend.",
         "{quarter} closes in {weeks} weeks. Here's where we are.", "Big week. Three things."),
        ("{short} closed — {amt}, annual prepay. Nice work {tm}.",
         "{short} is stuck in procurement. If it's past 90 days on Friday, it goes to closed lost.",
         "Reminder: a discount is a trade — prepay or multi-year — and it never goes above 15%.",
         "We walked from {short} this week — they wanted a free pilot. Right call.",
         "{short} asked for exclusivity in {category}. Answer is no. Same as always."),
        ("Every deal in commit needs a next step with a date. No date, not commit.",
         "Ask every champion this week: what's the real blocker?",
         "Let's keep it simple: fewer deals, bigger deals, real dates.",
         "Proposals get walked through live. Not emailed cold."),
    ),
    "coaching": (
        ("Looked at {short}. Good work getting to the VP.", "Saw your notes on {short}.", "On {short} —",
         "Nice job on {short} this week."),
        ("Two things. One: don't send the proposal before the call, walk them through it. Two: get a date for the "
         "decision.",
         "They asked for a free pilot. Answer is paid pilot, credited against year one. Don't blink.",
         "You're discounting before they asked. Not a fan. Anchor high, hold, trade only for prepay or term.",
         "Who signs? If you don't know, that's the real blocker."),
        ("Happy to jump on the next call with you.", "Ping me after the call.", "You've got this."),
    ),
    "ceo_update": (
        ("Quick update before the board deck.", "Forecast for {quarter}, as promised."),
        ("Commit {big}. Best case {big2}.", "We're at {big} commit, {big2} best case."),
        REPLY_SLOTS["ceo_forecast"][1],
        ("Bottom line: we land commit.", "Happy to walk through it Monday."),
    ),
    "partner_note": (
        ("Thanks for the intro to {client}.", "Quick thought on co-selling.", "Good catching up last week."),
        REPLY_SLOTS["partner"][1],
        ("Happy to jump on a call {day}.", "Next step: two intros by {day}? I'll take it from there."),
    ),
    "candidate": (
        ("Enjoyed the conversation today.", "Thanks for making time this week."),
        ("Straight to it: we sell analytics to CPG brands, we don't discount, and we walk from bad deals. If that "
         "sounds like fun, you'll like it here.",
         "The role is simple: own a patch of mid-size brands, build pipeline, close. "
         "No hand-holding, plenty of support."),
        ("Next step is a case exercise with Dev and me. Does {day} work?",),
    ),
}
NEW_SUBJECTS = {
    "client_recap": ("Recap + next steps", "Today's call", "{short} x Maverick Labs"),
    "client_checkin": ("Checking in", "{product} — where are we?", "Quick one"),
    "proposal": ("{short} x Maverick Labs — proposal", "Proposal: {product}"),
    "cold_intro": ("{short} + TestPilot", "Shelf tests for {category}"),
    "team_update": ("Pipeline — week of {weekof}", "{quarter} push", "Friday note"),
    "coaching": ("{short}", "{short} — thoughts"),
    "ceo_update": ("{quarter} forecast", "Numbers"),
    "partner_note": ("{short} intro", "Co-selling"),
    "candidate": ("Next steps", "Maverick Labs — next steps"),
}
NEW_KINDS = (("client_recap", 20), ("client_checkin", 16), ("proposal", 12), ("cold_intro", 5), ("team_update", 16),
             ("coaching", 13), ("ceo_update", 6), ("partner_note", 8), ("candidate", 4))


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
    return {"subject": subject, "body": _allan_body(rng, greet, paras), "sent_at": when,
            "sender_email": PERSONA_EMAIL, "recipient_email": address}


REPLY_DELAY_MAX = timedelta(hours=36)


def _email_rows(rng: random.Random, lo: datetime, hi: datetime, n_replied: int, n_unreplied: int, n_new: int,
                id_offset: int) -> list[dict]:
    """All emails in [lo, hi]: others' (some answered by Allan) and Allan's own new ones."""
    entries: list[tuple[dict[str, Any], dict[str, Any] | None]] = []  # (row, row it answers)
    latest_original = hi - REPLY_DELAY_MAX - timedelta(minutes=1)
    for i in range(n_replied + n_unreplied):
        replied = i < n_replied
        kind = _weighted(rng, REPLIED_KINDS if replied else UNREPLIED_KINDS)
        when = _rand_time(rng, lo, latest_original)
        inbound = _inbound(rng, kind, when)
        original = {"subject": inbound["subject"], "body": inbound["body"], "sent_at": when,
                    "sender_email": inbound["sender"].email, "recipient_email": PERSONA_EMAIL}
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
        {"id": ids[id(row)], "subject": row["subject"], "body": row["body"], "sent_at": row["sent_at"],
         "sender_email": row["sender_email"], "recipient_email": row["recipient_email"],
         "in_reply_to": ids[id(parent)] if parent is not None else None}
        for row, parent in entries
    ]


# --------------------------------------------------------------------------
# Chat conversations. In Allan's conversations he is the 'user' side and a
# sales-ops assistant (relaying the team's questions) is the 'assistant'.
# Scripts alternate roles; every core ends on Allan's turn so follow-up pairs
# (assistant, Allan) can be appended to reach 4-10 turns.
# --------------------------------------------------------------------------

A, U = "assistant", "user"

# A script is (first role, steps). Each step is a tuple of variants; a variant
# is a tuple of consecutive turns, so a question and its answer are chosen
# together and always match. Roles alternate from the first role.
Script = tuple[str, tuple[tuple[tuple[str, ...], ...], ...]]
CONV_SCRIPTS: dict[str, Script] = {
    "proposal_timing": (A, (
        (("Should I send the proposal to {contact} at {short} before Thursday's call?",
          "No. Walk them through it live. Proposals sent cold get forwarded to procurement and die there."),
         ("{contact} asked for the {product} proposal ahead of the call on {day}. Send it now?",
          "Send a one-page summary now, full proposal after the call. Never the price without us in the room."),
         ("Quick one: proposal before or after the {short} call?",
          "After. You present it, they react, then it goes out. Let's keep it simple.")),
        (("What if they ask for pricing on the call?", "Give them the number. Anchor high, then stop talking."),
         ("Their procurement lead will be on the call too. Anything I should prep?",
          "Ask procurement what the real blocker is. They'll tell you if you ask."),
         ("Got it. Should I include the {product2} add-on?",
          "Not a fan. One product, one price. Add-ons come at renewal.")),
    )),
    "free_pilot": (A, (
        (("{short} wants a {n}-day free pilot of {product} before they commit. OK to set up?",
          "No. We don't do free pilots — paid pilot, credited against year one."),
         ("{contact} is asking for a free trial of {product}. Their last vendor gave them one.",
          "Then their last vendor paid for a science project. We don't do free pilots — paid pilot, credited against "
          "year one."),
         ("Heads up: {short} procurement says no pilot fee, or no pilot.",
          "Then no pilot. Paid pilot, credited against year one. That's the offer.")),
        (("They might walk over this. Still a no?",
          "Still a no. If they won't pay for a pilot, they won't pay for the product."),
         ("Should I offer a shorter pilot instead?",
          "Length isn't the issue. Free is the issue. Bottom line: skin in the game or we walk."),
         ("How do I explain it without sounding difficult?",
          "Say it plainly: a paid pilot gets an owner and a decision. And it's credited, so it costs them nothing "
          "if it works.")),
    )),
    "hiring": (A, (
        (("Two finalists for the AE role: {candidate} (sold into CPG brands for years) and {candidate2} (enterprise "
          "SaaS, big logos). Who goes to the final round?", "{candidate}. CPG scars beat shiny logos."),
         ("{candidate} finished the case exercise. Dev scored it well. Want to meet them?",
          "Yes. Thirty minutes, {day}. I'll ask one question: tell me about a deal you walked away from."),
         ("The recruiter sent three more AE profiles. Should I set up screens?",
          "Only the ones who've sold to CPG brands. Everyone else is a pass.")),
        (("{candidate} is asking for a base above the band.",
          "Not a fan of stretching base. Put it in the variable. If they believe in their number, it's a no-brainer."),
         ("Do you want Maria on the panel too?", "Yes. She'll see things I miss."),
         ("Should we move fast? There's another offer on the table.",
          "Move fast, but don't skip the case exercise. Offer by {day} if it's a yes.")),
    )),
    "pricing": (A, (
        (("Should we drop TestPilot list price to match {competitor}?",
          "No. We're not the cheapest and we don't try to be."),
         ("Marketing wants a cheaper starter tier for TestPilot. Thoughts?",
          "Not a fan. A starter tier trains buyers to wait for a discount."),
         ("{competitor} is quoting about half our price on shelf tests. Do we respond?",
          "No. Let them race to the bottom. We sell results.")),
        (("What should reps say when price comes up?",
          "Say what we do better in one sentence, then ask what's the real blocker. Price is rarely it."),
         ("What about a bundle price instead?",
          "Bundles I like. Two products, one price, annual prepay. Let's keep it simple."),
         ("Anything to change on the pricing page?", "No. Price anchors high, discount stays small. Leave it.")),
    )),
    "exclusivity": (A, (
        (("{short} wants category exclusivity in {category} as part of the deal.",
          "No. We don't sell exclusivity. The benchmark across the category is the product."),
         ("Legal flagged an exclusivity clause in the {short} redlines — {category}, three years.",
          "Strike it. We don't do exclusivity in any category.")),
        (("They said it's a deal-breaker.", "Then it's a deal-breaker. We walk, politely."),
         ("Should I offer something in exchange?",
          "Early access to new features and a named analyst. Not exclusivity.")),
    )),
    "renewal": (A, (
        (("{short} renews {product} next month. Want to pitch {product2} at renewal?",
          "Yes. Bundle it, keep the renewal flat, ask for annual prepay."),
         ("{contact} asked what the renewal price will be for {product}.",
          "Flat if they prepay annually. Otherwise standard uplift. Let's keep it simple.")),
        (("Should I send the renewal quote now or wait for the QBR?",
          "Walk them through it at the QBR. Then send it the same day."),
         ("They also asked about adding more brands.",
          "Great. More brands is the easiest yes we'll get all year. Price it per brand, at list.")),
    )),
    "competitor": (A, (
        (("{short} got a quote from {competitor} that's way below ours.",
          "Let them compare. We're not the cheapest and we don't try to be."),
         ("{contact} says {competitor} offered them a free pilot.",
          "Good for {competitor}. We don't do free pilots — paid pilot, credited against year one.")),
        (("Do you want to call {contact}?", "Yes. Book 20 minutes for {day}. I'll ask what's the real blocker."),
         ("Anything I should send them?", "The {product} case study and nothing else. Then ask for a date.")),
    )),
    "email_review": (A, (
        (("Can you review my follow-up to {contact}? It's four paragraphs recapping the demo.",
          "Too long. Three lines: what we heard, what we propose, next step with a date."),
         ("Draft to {short} is ready — want to see it before it goes?",
          "Yes. Cut it in half first. Nobody reads paragraph three.")),
        (("Should I mention the {product2} add-on?", "No. One thing at a time. Let's keep it simple."),
         ("Should I attach the deck?", "No deck. They've seen it. Ask for the date.")),
    )),
    "call_prep": (U, (
        (("Prep me for the {short} call on {day}.",
          "{contact} ({title}) is evaluating {product} for {category}. Last touch: proposal at {amt}. Open question: "
          "budget timing.",
          "Good. I'll ask the real blocker first and get a date before we hang up."),
         ("Call with {contact} at {short} in an hour. What do I need to know?",
          "They've had the {product} proposal ({amt}) for two weeks. {contact} likes it; finance hasn't weighed in.",
          "Got it. Let's keep it simple: one question — what stops you signing by {day2}?")),
    )),
    "forecast": (U, (
        (("What's our commit for {quarter}?", "Commit is {big}, best case {big2}. Biggest swing is {short} at {amt}.",
          "{short} stays out of commit until we have a signature date."),
         ("Forecast check. Commit and best case?",
          "We're at {big} in commit and {big2} best case. {short} ({amt}) is the one to watch.",
          "Good. What's the real blocker on {short}?")),
        (("Their champion says end of month.", "End of month isn't a date. Get the day."),
         ("They're waiting on a budget sign-off.", "Whose sign-off? Get me a name and a date.")),
    )),
}
CONV_DISCOUNT_ASK = (
    "{short} wants {ask}% off the {product} deal ({amt}). How do we respond?",
    "Heads up: {contact} at {short} is asking for {ask}% off list. What should I tell them?",
    "{short} came back on the proposal — they want {ask}% off. Thoughts?",
)
# The team's pushback after Allan's first answer, and his reply, by decision kind.
DISCOUNT_PUSHBACK = {
    "counter": (
        ("They said budget is locked for this year.",
         "Then ask what's the real blocker. If it's this year's budget, split the invoice — don't cut the price."),
        ("Their procurement says every vendor gives them more than that.",
         "Every vendor, sure. We're not every vendor. Hold the line."),
        ("Their CFO is on the thread now.",
         "Good. CFOs like prepay math. Show them the annual prepay number and stop talking."),
        ("They hinted {competitor} would do it cheaper.",
         "Let them go to {competitor}. If they come back, it's at our price."),
        ("The champion says her hands are tied.",
         "Then the champion needs help, not a discount. Offer a call with her boss. Happy to jump on it myself."),
    ),
    "decline": (
        ("They might walk.", "Then they walk. Bottom line: we don't buy deals."),
        ("Should I offer something smaller instead?",
         "Only if they come back with a prepay or a longer term. Then we talk, and the ceiling is still the ceiling."),
        ("They said {competitor} would do it.", "Let them go to {competitor}. If they come back, it's at our price."),
    ),
    "accept": (
        ("Great — I'll send the updated order form.", "Good. Get a signature date before end of week."),
        ("Should I tell the champion today?", "Yes. And thank her. She did the work."),
    ),
}
DISCOUNT_PUSHBACK["small"] = DISCOUNT_PUSHBACK["counter"]

# Follow-up pairs appended to reach the target length. "deal" ones only fit
# conversations about a client.
FOLLOWUPS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("deal", (("Want me to log that in the CRM?", "Yes. And put the next step with a date — no date, no next step."),
              ("Should I update the CRM?", "Yes. Two lines: the real blocker and the date."))),
    ("any", (("Should I loop in {tm}?", "Yes. One thread, one owner. Let's keep it simple."),
             ("Want {tm} on the thread?", "Only if it moves the needle. Otherwise no."))),
    ("deal", (("Anything else for {short}?", "Find out who signs. If we don't know who signs, we don't have a deal."),
              ("Anything else before I reply to {contact}?", "Just the date. Ask for the date."))),
    ("any", (("I'll set a reminder for {day}.", "Good. If nothing moves by then, flag it to me."),
             ("Noted — I'll follow up on {day}.", "Perfect. No answer by then, ping me and I'll make the call."))),
    ("deal", (("Do you want to join the call?", "Only if it moves the needle. Otherwise you've got it."),
              ("Should I book you in for the next {short} call?", "Yes. Put me in for 15 minutes at the end."))),
    ("deal", (("Should I CC their exec sponsor?",
               "Not yet. Let the champion carry it first. If that stalls, I'll call the VP myself."),)),
    ("deal", (("Want a summary for Monday's pipeline call?",
     "Yes. Per deal: the real blocker and the date. Nothing else."),)),
    ("any", (("Got it 👍", "Thanks. Ping me if it changes."), ("On it!", "Good. Let's keep it simple."),
             ("Understood.", "Thanks. Bottom line: same rules for everyone."))),
)
# Tails Allan sometimes adds to a chat answer; they name the deal or the day, so
# the same answer reads differently from one conversation to the next.
CHAT_CODAS = {
    "deal": ("Keep me posted on {short}.", "Loop me in if {contact} pushes back.", "Tell {contact} I said hi.",
             "Want it sorted by {day}.", "Update the CRM after.", "Ping me on {day} with where {short} landed.",
             "{tm} has been here before — ask her.", "Same rules for {short} as for everyone."),
    "any": ("Let's keep it simple.", "Thanks.", "Good stuff.", "Don't overthink it.", "Ping me on {day} if it's stuck.",
            "Bottom line: same rules for everyone.", "Talk {day}."),
}
ALLAN_TOPICS = (("discount", 20), ("free_pilot", 8), ("proposal_timing", 10), ("pipeline", 11), ("hiring", 8),
                ("pricing", 7), ("procurement", 9), ("exclusivity", 5), ("forecast", 7), ("renewal", 6),
                ("competitor", 5), ("email_review", 3), ("call_prep", 5))
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
    opener = _say(rng, ("{short} has been in procurement for {days} days. Keep it in commit?",
                        "Status on {short}: still in procurement, {days} days now. Their legal has the paper."), ctx)
    if ctx["days"] > 90:  # Allan's line: more than 90 days in procurement and we walk
        steps = ((("No. Over 90 days in procurement is a dead deal. Move it to closed lost.",),
                  ("Take it out. {days} days means nobody over there is fighting for it.",)),
                 (("Should I send a break-up email?",
                   "Yes. Polite, short, door open. Half the time that's what gets it signed."),
                  ("Do you want to call {contact} first?",
                   "One call. If there's no signature date on that call, we walk.")))
    else:
        steps = ((("Upside, not commit, until there's a signature date.",),
                  ("Keep it in upside. What's the real blocker?",)),
                 (("They said legal review is the hold-up.",
                   "Then get legal-to-legal on a call this week. Happy to jump on it."),
                  ("{contact} says it's a security questionnaire.",
                   "Send it back in two days. Then ask for the date. Next step with a date or it slips.")))
    return [(A, opener)] + _run_script(rng, (U, steps), ctx)


def _conv_pipeline(rng: random.Random, ctx: dict[str, Any]) -> list[tuple[str, str]]:
    """Allan asks what's stuck; the assistant lists deals; Allan rules on each."""
    ask = _say(rng, ("Pipeline review. What's stuck?", "Give me the deals that haven't moved in 30 days.",
                     "Top deals for {quarter}. What's stuck?"), ctx)
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
            verdicts.append(f"{client.short}: {rng.choice(['fine. Leave it.', 'give it a week.', 'on track.'])}")
    ctx.update(short=clients[0].short, client=clients[0].name, contact=clients[0].contacts[0].first)
    listing = rng.choice(["Here's what's stalled:", "Three deals haven't moved:", "Sure — the stuck ones:"])
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
    return [(role, f"{text} {_say(rng, codas, ctx)}" if role == U and rng.random() < 0.35 else text)
            for role, text in turns]


# Conversations of other people with the assistant. Nobody here is Allan; the
# user side is a teammate writing casually (emoji) or politely. Each variant is
# (casual user text, polite user text, assistant answer).
OTHER_SCRIPTS: dict[str, tuple[tuple[tuple[str, str, str], ...], ...]] = {
    "report": (
        (("can you pull last quarter's win rate for {product}? 🙏",
          "Could you please send me last quarter's win rate for {product}?",
          "Sure — {product} won 14 of 38 opportunities last quarter. Want it split by segment?"),
         ("quick one: how many {product} opps are open rn? 👀",
          "Could you please prepare a summary of open {product} opportunities for my accounts?",
          "You have 9 open {product} opportunities worth {usd} in total. Want it split by segment?")),
        (("yes pls, by segment would be amazing!! 🙌", "Yes please, a breakdown by segment would be appreciated.",
          "Done — mid-market is the strongest segment this quarter."),
         ("perfect, thx! can you add close dates too?", "Thank you. Could you also add the expected close dates?",
          "Added. Three of them are expected to close this month.")),
    ),
    "crm_cleanup": (
        (("ugh, my CRM is a mess 😅 which of my deals have no close date?",
          "Could you list my opportunities that are missing a close date or next step?",
          "Six of your opportunities have no close date, including {short}. The oldest is from {month}."),),
        (("omg ok fixing now, thank you!! 💪", "Thank you. I will update them before Friday.",
          "Great. I'll re-check on Friday morning and send you what's left."),),
    ),
    "demo_prep": (
        (("demo with {short} tmrw!! 😬 what should I show?",
          "I have a demo with {client} on {day}. Could you help me prepare an agenda?",
          "Suggested agenda: 5 min discovery recap, 15 min {product} walkthrough, 10 min Q&A."),),
        (("love it 😍 do we have a {category} example?",
          "That sounds good. Do we have a relevant {category} example I could use?",
          "Yes — the anonymised {category} case study in the shared drive works well."),),
        (("ur the best 🙏", "Thank you, much appreciated.", "Good luck with the demo!"),),
    ),
    "email_template": (
        (("can u draft a follow-up for {contact} after today's call? keep it friendly 😊",
          "Could you draft a follow-up email to {contact} summarising today's meeting?",
          "Here's a draft: 'Dear {contact}, thank you for your time today. As discussed, I'm attaching an overview of "
          "{product}...'"),),
        (("a bit formal lol, can you make it warmer? 🙈",
          "Thank you. Could you please add a short paragraph about implementation timelines?",
          "Updated — softer tone, plus a line on implementation (typically two to four weeks)."),),
    ),
    "event": (
        (("who's coming to the {month} trade show booth? 🎪",
          "Could you confirm the staffing plan for the {month} trade show?",
          "Three people are signed up for the booth; one slot on day two is still open."),),
        (("I'll take it! ✋", "I can cover the open slot on day two.", "Done, you're on the schedule for day two."),),
    ),
}


def _other_conversation(rng: random.Random, person: Person, ctx: dict[str, Any]) -> tuple[str, list[tuple[str, str]]]:
    topic = rng.choice(sorted(OTHER_SCRIPTS))
    casual = person.style == "casual"
    turns: list[tuple[str, str]] = []
    for step in OTHER_SCRIPTS[topic]:
        casual_text, polite_text, answer = rng.choice(step)
        turns += [(U, (casual_text if casual else polite_text).format(**ctx)), (A, answer.format(**ctx))]
    return topic, turns


def _conversation_rows(rng: random.Random, lo: datetime, hi: datetime, n_allan: int, n_other: int,
                       id_offset: int) -> tuple[list[dict], list[dict]]:
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
# Deals. Allan's notes explain his call in his voice; colleagues write theirs.
# --------------------------------------------------------------------------

DEAL_SUFFIXES = ("annual", "pilot", "expansion", "renewal", "multi-year", "new logo", "EU rollout", "bundle")
ALLAN_STAGE_WEIGHTS = (("prospecting", 12), ("qualification", 14), ("proposal", 14), ("negotiation", 14),
                       ("closed_won", 28), ("closed_lost", 18))
OTHER_STAGE_WEIGHTS = (("prospecting", 18), ("qualification", 18), ("proposal", 18), ("negotiation", 14),
                       ("closed_won", 20), ("closed_lost", 12))
DEAL_SLOTS: dict[str, tuple[tuple[str, ...], ...]] = {
    "prospecting": (
        ("Inbound from {contact}. They run {n} shelf tests a year in spreadsheets -> {product} is a no-brainer.",
         "Intro via Northstar. Brand in {category}, growing fast.",
         "Cold outbound to {contact}, replied same day. Good sign.",
         "Met {contact} at the trade show. Real pain around {what}."),
        ("Discovery call {day}.", "Next step: discovery with {contact} on {day}.", "Need to find the budget owner.",
         "Don't pitch yet. Ask what's the real blocker to fixing it today."),
    ),
    "qualification": (
        ("Champion: {contact} ({title}). Budget owner unknown -> find out.",
         "Real blocker = budget cycle, resets in {month}.",
         "They need it before the {month} reset. Good pressure.", "Three stakeholders, no owner. Not a fan."),
        ("Asked what's the real blocker. Answer: nobody owns shelf testing. That's our opening.",
         "Bottom line: real pain, real budget, no date yet.",
         "If they can't name who signs by {day}, this drops to nurture."),
        ("Next step: {step} on {day}.", "Next step with a date: {day}."),
    ),
    "proposal": (
        ("Proposal out at {amt}, annual. Walked them through it live.",
         "Sent proposal at list, {amt}. No flinch on price.",
         "Proposal for {product} + {product2} bundle, {amt}. Let's keep it simple."),
        ("Price anchors high -> discount small.",
         "No free pilot offered. If they ask: paid pilot, credited vs year one.",
         "Champion likes it. CFO hasn't seen it yet."),
        ("Follow-up {day}.", "Next step: {step} on {day}."),
    ),
    "closed_won": (
        ("Won. {reason}.", "Closed at {amt}. {reason}.", "Signed. What made it work: {reason}."),
        ("Lesson: get the signer on call two.", "Bottom line: we held price and they respected it.",
         "Ask {contact} for a referral in {month}.", "Expansion to {product2} next year is a no-brainer."),
    ),
    "closed_lost": (
        ("{reason}",),
        ("No regrets.", "Right call. Would do it again.", "Door open if they come back on our terms.",
         "Bottom line: a clean pipeline beats a big one."),
    ),
}
WON_REASONS = (
    "annual prepay", "champion in insights team", "multi-year at 10%, a fair trade for the term",
    "paid pilot converted in six weeks", "exec sponsor in the room from call one", "bundled with {product2} at list",
    "CFO liked the prepay math", "walked them through the proposal live, no surprises",
)
# Most of Allan's losses are his own walk-aways (that is the habit to learn); the last two are rarer.
LOST_REASONS = (
    "Walked away. They wanted a free pilot — we don't do free pilots. Offered a paid pilot credited against year one; "
    "they said no.",
    "Walked away after {lost_days} days in procurement. Over 90 days = dead deal.",
    "Walked away. They asked for category exclusivity in {category}. We don't sell exclusivity.",
    "Walked away. They asked for {big_ask}% off. We're not the cheapest and we don't try to be.",
    "Lost to {competitor} on price. We held at {c}% with annual prepay; they wanted more. Fine.",
    "Went dark after the proposal. Never found the real blocker. On me.",
)
NEGOTIATION_NOTES = {
    "counter": ("Asked {ask}%. Countered {c}% with {cond}. Price anchors high -> discount small.",
                "They want {ask}%. Offered {c}% for {cond}. That's the ceiling."),
    "small": ("Asked {ask}%. Fine, with {cond}.",),
    "accept": ("{ask}% for {cond}. Accepted — fair trade.",),
    "decline": ("Asked {ask}%. Told them no — we're not the cheapest and we don't try to be. Ball's in their court.",),
    "procurement": ("In procurement, day {open_days}. Legal has the paper. If no signature by day 90, we walk.",),
    "pilot": ("They asked for a free pilot. Said no: paid pilot, credited against year one. Waiting on their answer.",),
}
OTHER_DEAL_NOTES = {
    "prospecting": ("Intro meeting held. The client is interested in {product} but timing is unclear.",
                    "Reached out via LinkedIn, {contact} responded positively! Discovery call to be scheduled 📅"),
    "qualification": ("Discovery completed. Key stakeholders identified; budget to be confirmed by the client's "
                      "finance team.",
                      "Good call w/ their insights team 🙂 they want to see a {category} example next time."),
    "proposal": ("Customer evaluating {product} for {category}. Pricing shared; awaiting procurement feedback.",
                 "Proposal sent on {day}. Follow-up call scheduled with {contact}."),
    "negotiation": ("Per discussion with {contact}, the client has requested a revised quote reflecting a multi-year "
                    "commitment. Escalated for approval.",
                    "Client pushing on price, asked for approval on a discount. Waiting to hear back 🤞"),
    "closed_won": ("Client signed! Kickoff planned for {month}. Thanks to everyone who helped 🙌",
                   "Contract executed. Handover to customer success scheduled for next week."),
    "closed_lost": ("Unfortunately the client decided to postpone the project due to internal budget constraints.",
                    "Lost — client chose to build an in-house solution. Will revisit next year."),
}


def _allan_deal_note(rng: random.Random, stage: str, ctx: dict[str, Any]) -> str:
    ctx.update(lost_days=rng.randint(95, 160), big_ask=rng.choice([40, 45, 50]), c=rng.choice([10, 12, 15]),
               open_days=rng.randint(20, 85))
    if stage == "negotiation":
        r = rng.random()
        if r < 0.65:
            ask, commitment = _pick_ask(rng)
            decision = _discount_decision(rng, ask, commitment)
            head = _say(rng, NEGOTIATION_NOTES[decision["kind"]], {**ctx, **decision})
        else:
            head = _say(rng, NEGOTIATION_NOTES["procurement" if r < 0.85 else "pilot"], ctx)
        tail = _say(rng, ("Next step: {step} on {day}.", "What's the real blocker? CFO. Call booked {day}.",
                          "Signature target {day}."), ctx)
        return f"{head} {tail}"
    slots = DEAL_SLOTS[stage]
    if stage == "closed_won":
        ctx["reason"] = _say(rng, WON_REASONS, ctx)
    elif stage == "closed_lost":
        ctx["reason"] = rng.choices(LOST_REASONS, weights=(3, 3, 3, 3, 1, 1))[0].format(**ctx)
    parts = _slots(rng, slots, ctx)
    if len(parts) > 2 and rng.random() < 0.3:  # some notes are just the headline and the next step
        parts = [parts[0], parts[-1]]
    return " ".join(parts)


def _deal_rows(rng: random.Random, lo: datetime, hi: datetime, n_allan: int, n_other: int,
               id_offset: int) -> list[dict]:
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
        rows.append({"deal_name": f"{ctx['short']} — {ctx['product']} {rng.choice(DEAL_SUFFIXES)}", "stage": stage,
                     "amount": ctx["amount"], "notes": notes, "owner_email": owner, "created_at": when})
    rows.sort(key=lambda r: r["created_at"])
    return [{"id": id_offset + i, **row} for i, row in enumerate(rows)]


# --------------------------------------------------------------------------
# Sticky notes.
# --------------------------------------------------------------------------

NOTE_THEMES = (("pricing", 18), ("pilots", 8), ("process", 14), ("hiring", 10), ("pipeline", 14), ("product", 10),
               ("ideas", 9), ("clients", 12), ("coaching", 8))
OTHER_NOTES = (
    ("Webinar ideas", "Brainstorm for the Q{q} webinar: retailer reset trends, promo measurement best practices. "
     "Check with design about the slides! 💡", ("ideas",)),
    ("CRM cleanup", "Reminder: please update close dates for all opportunities before Friday's forecast meeting.",
     ("process", "pipeline")),
    ("Call prep: {short}", "Key contact is {contact_full}. They are currently evaluating {competitor}. Prepare the "
     "{product} case study.", ("clients",)),
    ("Team lunch 🍕", "Friday at 12:30, the Italian place around the corner. Please RSVP by Wednesday!", ("ideas",)),
    ("Demo checklist",
     "1) Confirm attendees. 2) Load the {category} sample dataset. 3) Test screen sharing beforehand.",
     ("product", "process")),
    ("Follow up {short}", "Send the security questionnaire to {contact} and confirm the legal contact for the MSA.",
     ("clients", "pipeline")),
    ("Interview feedback", "{candidate} communicated clearly and asked good questions about onboarding. I would "
     "recommend moving forward to the next round.", ("hiring",)),
    ("Conference booth", "Booth materials need to be shipped by early {month}. Coordinate with the events agency.",
     ("partners", "ideas")),
    ("Q{q} goals", "Personal goals for this quarter: 12 discovery calls per week, two new logos, and finish the "
     "{product} certification. 💪", ("pipeline",)),
    ("Partner sync", "Northstar would like a joint account plan for {client}. Draft an outline before the next sync.",
     ("partners",)),
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
    return {"user_id": PERSONA_USER_ID, "title": _say(rng, NOTE_TITLES[theme], ctx).lower(),
            "content": "\n".join(lines), "tags": tags, "created_at": when}


def _other_note(rng: random.Random, when: datetime) -> dict[str, Any]:
    ctx = _base_ctx(rng, when)
    title, content, tags = rng.choice(OTHER_NOTES)
    return {"user_id": rng.choice(TEAM).user_id, "title": title.format(**ctx), "content": content.format(**ctx),
            "tags": list(tags), "created_at": when}


def _note_rows(rng: random.Random, lo: datetime, hi: datetime, n_allan: int, n_other: int,
               id_offset: int) -> list[dict]:
    make = [_allan_note] * n_allan + [_other_note] * n_other
    rows = [note(rng, _rand_time(rng, lo, hi)) for note in make]
    rows.sort(key=lambda r: r["created_at"])
    return [{"id": id_offset + i, **row} for i, row in enumerate(rows)]


# --------------------------------------------------------------------------
# Public entry points
# --------------------------------------------------------------------------


def _streams(seed: int, label: str) -> dict[str, random.Random]:
    """One independent, seeded stream per table (string seeds hash stably)."""
    return {table: random.Random(f"doppel-demo:{label}:{seed}:{table}")
            for table in ("emails", "conversations", "deals", "notes")}


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


def generate_new(since: datetime, seed: int, n_emails: int = 10, n_messages_convs: int = 3, n_deals: int = 3,
                 n_notes: int = 5, id_offset: int = 1_000_000) -> DemoData:
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
        since = since.replace(tzinfo=timezone.utc)
    lo, hi = since + timedelta(minutes=1), since + timedelta(days=7)
    rngs = _streams(seed, f"new:{since.isoformat()}")
    n_inbound = n_emails // 2
    n_replies = min(n_inbound, (n_emails - n_inbound + 1) // 2)
    emails = _email_rows(rngs["emails"], lo, hi, n_replies, n_inbound - n_replies, n_emails - n_inbound - n_replies,
                         id_offset)
    conversations, messages = _conversation_rows(rngs["conversations"], lo, hi, n_messages_convs, 0, id_offset)
    deals = _deal_rows(rngs["deals"], lo, hi, n_deals, 0, id_offset)
    notes = _note_rows(rngs["notes"], lo, hi, n_notes, 0, id_offset)
    return DemoData(emails, conversations, messages, deals, notes)
