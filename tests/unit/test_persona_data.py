"""The demo persona's phrase files (src/doppel/demo/phrases/*.yaml) and what persona.py makes of them.

The generated rows themselves are checked in test_demo_persona.py; here: the files load, hold no
empty or misspelt parts, ship in the wheel, agree with the weights and rules kept in persona.py,
and the generator stays deterministic. No hash of the output is pinned: editing a phrase is
supposed to change the data.
"""

from __future__ import annotations

import random
import re
import string
import tomllib
from fnmatch import fnmatch
from importlib import resources
from pathlib import Path

import pytest
import yaml

from doppel.demo import persona

REPO = Path(__file__).resolve().parents[2]
PHRASES = resources.files("doppel.demo") / "phrases"
FILES = ("cast", "emails", "conversations", "deals", "notes")
TEMPLATE_FILES = ("emails", "conversations", "deals", "notes")
# Context keys set outside _base_ctx: per scenario (ask, weeks, ...), per new email (pains, lastday, ...),
# per deal note (reason, lost_days, ...) and from a discount decision (c, cond).
EXTRA_KEYS = {
    "ask",
    "c",
    "cond",
    "weeks",
    "answer",
    "pains",
    "lastday",
    "weekof",
    "reason",
    "lost_days",
    "big_ask",
    "open_days",
}
DECISIONS = {"counter", "small", "accept", "decline"}
PERCENT = re.compile(r"(\d+)\s*%")


def raw(name: str):
    return yaml.safe_load((PHRASES / f"{name}.yaml").read_text(encoding="utf-8"))


def walk(node, path=()):
    """(path, node) for the node and everything under it."""
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from walk(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from walk(value, (*path, i))


def strings(name: str):
    return [(path, node) for path, node in walk(raw(name)) if isinstance(node, str)]


def fields(template: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(template) if f is not None}


def literal_text(template: str) -> str:
    return "".join(text for text, *_ in string.Formatter().parse(template))


def scenario_ceiling() -> int:
    """The discount ceiling scenarios.yaml's header promises."""
    header = (resources.files("doppel.demo") / "scenarios.yaml").read_text(encoding="utf-8")
    return int(re.search(r"discount ceiling of (\d+)%", header).group(1))


# --- the files -----------------------------------------------------------------------------------


def test_the_folder_holds_exactly_the_loaded_files():
    assert sorted(p.name for p in PHRASES.iterdir() if p.name.endswith(".yaml")) == sorted(f"{n}.yaml" for n in FILES)


@pytest.mark.parametrize("name", FILES)
def test_file_loads_with_nothing_empty(name):
    data = raw(name)
    assert isinstance(data, dict) and data
    for path, node in walk(data):
        assert node is not None, f"{name}.yaml {path}: no value"
        if isinstance(node, (dict, list)):
            assert node, f"{name}.yaml {path}: empty"
        else:
            assert isinstance(node, (str, int)), f"{name}.yaml {path}: {node!r}"


def test_phrase_files_ship_in_the_wheel():
    globs = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["doppel"]

    def shipped(rel: str) -> bool:  # setuptools globs: "*" stays inside one folder
        return any(
            len(g.split("/")) == len(rel.split("/")) and all(map(fnmatch, rel.split("/"), g.split("/"))) for g in globs
        )

    for name in FILES:
        assert shipped(f"demo/phrases/{name}.yaml"), name


@pytest.mark.parametrize("name", TEMPLATE_FILES)
def test_templates_name_only_known_context_keys(name):
    known = set(persona._base_ctx(random.Random(0), persona.ANCHOR)) | EXTRA_KEYS
    for path, text in strings(name):
        unknown = fields(text) - known  # raises on a stray brace, too
        assert not unknown, f"{name}.yaml {path}: {sorted(unknown)}"


# --- data and code agree -------------------------------------------------------------------------


def kinds(weights) -> set[str]:
    return {kind for kind, _ in weights}


def test_every_weighted_kind_has_its_words():
    p = persona
    assert {name for name, _ in p._PRODUCT_WEIGHTS} == set(p.PRODUCTS)
    special = {"product_question", "team"}  # built from PRODUCT_QA / TEAM_ASKS
    assert kinds(p.REPLIED_KINDS) - special <= set(p.INBOUND_CORE)
    assert kinds(p.REPLIED_KINDS) | kinds(p.UNREPLIED_KINDS) <= set(p.INBOUND_SUBJECTS)
    assert kinds(p.UNREPLIED_KINDS) <= set(p.UNREPLIED_CORE)
    assert kinds(p.REPLIED_KINDS) - {"discount", "procurement", "team"} <= set(p.REPLY_SLOTS)
    assert {"procurement_long", "procurement_short"} <= set(p.REPLY_SLOTS) & set(p.TEAM_REPLY_SLOTS)
    assert kinds(p.TEAM_SUBS) <= set(p.TEAM_ASKS)
    assert kinds(p.TEAM_SUBS) - {"discount", "procurement"} <= set(p.TEAM_REPLY_SLOTS)
    assert kinds(p.NEW_KINDS) <= set(p.NEW_SLOTS) & set(p.NEW_SUBJECTS)
    assert kinds(p.ALLAN_TOPICS) - {"discount", "procurement", "pipeline"} <= set(p.CONV_SCRIPTS)
    assert kinds(p.ALLAN_STAGE_WEIGHTS) - {"negotiation"} <= set(p.DEAL_SLOTS)
    assert kinds(p.OTHER_STAGE_WEIGHTS) == set(p.OTHER_DEAL_NOTES) == set(p.STAGES)
    assert kinds(p.NOTE_THEMES) == set(p.NOTE_LINES) == set(p.NOTE_TITLES) == set(p.NOTE_THEME_TAGS)
    assert len(p.LOST_REASONS) == len(p.LOST_WEIGHTS)
    assert len(p.PRODUCT_QA) and {product for product, _, _ in p.PRODUCT_QA} <= set(p.PRODUCTS)


def test_discount_banks_cover_every_decision():
    p = persona
    assert set(p.DISCOUNT_TO_CLIENT) == set(p.DISCOUNT_TO_TEAM) == set(p.DISCOUNT_PUSHBACK) == DECISIONS
    assert set(p.DISCOUNT_WHY) == DECISIONS - {"small"}  # a small ask gets the counter's reasons
    assert DECISIONS <= set(p.NEGOTIATION_NOTES)


def test_script_roles_and_shapes():
    for topic, (first, steps) in persona.CONV_SCRIPTS.items():
        assert first in (persona.A, persona.U), topic
        assert all(variants and all(turns for turns in variants) for variants in steps), topic
    for side in ("over_90", "within_90"):
        assert persona._PROCUREMENT_CHAT[side]
    for scope, pairs in persona.FOLLOWUPS:
        assert scope in ("deal", "any") and all(len(pair) == 2 for pair in pairs)


def test_cast_is_consistent_and_nobody_else_is_allan():
    people = [
        persona.CEO,
        persona.DEAL_DESK,
        persona.RECRUITER,
        *persona.TEAM,
        *persona.PARTNERS,
        *persona.VENDORS,
        *(c for client in persona.CLIENTS for c in client.contacts),
    ]
    assert persona.SELLERS and set(persona.SELLERS) <= set(persona.TEAM)
    assert all(client.contacts for client in persona.CLIENTS)
    assert len({client.short for client in persona.CLIENTS}) == len(persona.CLIENTS)
    for p in people:
        assert p.style in persona.STYLE_GREETING, p
        assert p.style in persona.STYLE_OPENER and p.style in persona.STYLE_CLOSER, p
        assert "allan" not in f"{p.email} {p.user_id}".lower(), p
    assert len({p.email for p in people}) == len(people)
    for _title, _content, tags in persona.OTHER_NOTES:
        assert set(tags) <= set(persona.NOTE_TAGS)
    assert {tag for tags in persona.NOTE_THEME_TAGS.values() for tag in tags} <= set(persona.NOTE_TAGS)


# --- rules ---------------------------------------------------------------------------------------


def test_ceiling_matches_the_scenarios_header():
    assert persona.DISCOUNT_CEILING == scenario_ceiling() == 15


def test_discount_words_bring_no_numbers_of_their_own():
    """Every percentage in a discount answer comes from {ask} or {c}, never from the words."""
    banks = [
        persona.TRADES,
        *persona.DISCOUNT_TO_CLIENT.values(),
        *persona.DISCOUNT_TO_TEAM.values(),
        *persona.DISCOUNT_WHY.values(),
    ]
    for bank in banks:
        for template in bank:
            assert not re.search(r"\d", literal_text(template)), template


def test_discount_policy_never_goes_past_the_ceiling():
    rng = random.Random(0)
    for ask in range(1, 100):
        for commitment in (None, *persona.TRADES):
            for _ in range(5):
                decision = persona._discount_decision(rng, ask, commitment)
                assert decision["c"] is None or decision["c"] <= persona.DISCOUNT_CEILING, (ask, decision)
                if ask >= 40:
                    assert decision["kind"] == "decline"


def test_counters_in_generated_notes_stay_under_the_ceiling():
    data = persona.generate(5, scale=0.5)
    counters = [
        int(m)
        for d in data.deals
        if d["owner_email"] == persona.PERSONA_EMAIL
        for m in re.findall(r"(?:Countered|Offered) (\d+)%", d["notes"])
    ]
    counters += [
        int(m)
        for n in data.notes
        if n["user_id"] == persona.PERSONA_USER_ID
        for m in re.findall(r"counter (\d+)%", n["content"])
    ]
    assert counters
    assert max(counters) <= scenario_ceiling()


# --- determinism ---------------------------------------------------------------------------------


def test_generation_is_deterministic():
    assert persona.generate(5, scale=0.15) == persona.generate(5, scale=0.15)
    since = persona.ANCHOR
    assert persona.generate_new(since, seed=4, n_emails=8) == persona.generate_new(since, seed=4, n_emails=8)


def test_loading_again_gives_the_same_data():
    assert persona._load("emails") == persona._EMAILS
    assert persona._load("cast") == persona._CAST
