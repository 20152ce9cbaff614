"""Who sent or received an email, read from the mixed strings CRMs store.

The same person appears as ``ann.smith@x.com``, ``Ann Smith <ann.smith@x.com>``,
``Smith, Ann``, ``"Smith  Ann" <Ann.Smith@X.com>`` or a bare display name. Two
parties are compared by address when both have one, else by the words of their
names (order and case ignored), which is what is left to go on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

_ADDRESS = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")
# Mail-system residue around names: <...> routes, "(nickname)", "@SYSTEM" suffixes.
_NOISE = re.compile(r"<[^>]*>|\([^)]*\)|@[\w./-]*")
_WORD = re.compile(r"[^\W\d_]{2,}")  # letters only; single letters are initials, too weak to compare
_SEPARATOR = re.compile(r"""[,;](?=(?:[^"]*"[^"]*")*[^"]*$)(?![^<]*>)""")  # outside quotes and <...>


@dataclass(frozen=True)
class Party:
    address: str | None  # lower-cased email address, when the string has one
    name: frozenset[str]  # lower-cased words of the display name, else of the address's local part


def name_words(text: str) -> frozenset[str]:
    return frozenset(w.lower() for w in _WORD.findall(text))


@lru_cache(maxsize=8192)  # a table names the same few hundred people over and over
def parse_party(text: str) -> Party:
    found = _ADDRESS.search(text or "")
    address = found.group().lstrip("'").lower() if found else None  # "'a@x.com'": quoted, not O'Hara
    name = _display_name(text or "")
    if not name and address:
        name = name_words(re.sub(r"[._-]", " ", address.split("@")[0]))
    return Party(address, name)


@lru_cache(maxsize=8192)
def parse_parties(field: str | None) -> tuple[Party, ...]:
    """The parties of a recipient field: ``a@x.com, Smith, Ann <ann@y.com>; "Lee, Bo" <bo@z.com>``."""
    pieces = [p.strip() for p in _SEPARATOR.split(field or "")]
    merged: list[str] = []
    for piece in pieces:
        # "Smith, Ann <ann@y.com>" was split at the comma inside the name: a lone
        # word with no address belongs to the named piece after it.
        if merged and _lone_word(merged[-1]) and _display_name(piece):
            merged[-1] = f"{merged[-1]}, {piece}"
        else:
            merged.append(piece)
    parties = (parse_party(p) for p in merged if p)
    return tuple(p for p in parties if p.address or p.name)


def _display_name(text: str) -> frozenset[str]:
    return name_words(_NOISE.sub(" ", _ADDRESS.sub(" ", text)))


def _lone_word(piece: str) -> bool:
    return "@" not in piece and "<" not in piece and len(name_words(piece)) == 1 and " " not in piece.strip(" '\"")


def same_party(a: Party, b: Party, *, loose: bool = False) -> bool:
    """Whether two parties are the same person.

    Addresses decide when both have one. Otherwise names must agree: the same
    words, or the words of one (two or more: "Ann Smith") all in the other
    ("Smith Ann B."). ``loose`` also accepts a single word ("Smith"): for
    ruling out the person's own mail, where a wrong match costs less than a miss.
    """
    if a.address and b.address:
        return a.address == b.address
    if not a.name or not b.name:
        return False
    small, big = sorted((a.name, b.name), key=len)
    return small == big or (small <= big and (loose or len(small) >= 2))


def among(party: Party, parties: tuple[Party, ...], *, loose: bool = False) -> bool:
    return any(same_party(party, p, loose=loose) for p in parties)


# Shown in a prompt: past this many people, "and N others" says enough.
MAX_NAMES_SHOWN = 3


def display_name(text: str) -> str:
    """A party as a person would write it: "Maria Pavlou" from ``"Pavlou, Maria" </O=ENRON/...>``.

    Routes, Exchange paths and "@SYSTEM" suffixes go; "Last, First" turns
    round; a string with no name left keeps its address.
    """
    name = " ".join(_NOISE.sub(" ", _ADDRESS.sub(" ", text or "")).replace('"', " ").replace("'", " ").split())
    name = name.strip(" ,;")
    if "," in name:
        last, _, first = name.partition(",")
        name = f"{first.strip()} {last.strip()}".strip()
    if name:
        return name
    found = _ADDRESS.search(text or "")
    return found.group().strip("'") if found else (text or "").strip()


def party_names(field: str | None) -> list[str]:
    """Every party of a sender/recipient field as a person would write them, each once, in order."""
    names: list[str] = []
    lone = False  # the last name shown is one word with no address: maybe a surname cut off at its comma
    for piece in (p.strip() for p in _SEPARATOR.split(field or "")):
        shown = display_name(piece)
        if not shown:
            continue
        one_word = " " not in shown and "@" not in shown
        if lone and "@" not in piece and len(shown.split()) <= 2:
            # "Pavlou <Pavlou>, Maria </O=...>": a surname, then the given name, split at the name's comma.
            names[-1] = f"{shown} {names[-1]}"
            lone = False
            continue
        names.append(shown)
        lone = one_word
    return list(dict.fromkeys(names))


def display_parties(field: str | None) -> str:
    """A recipient field as a short readable list: "Maria Pavlou, Donna Martens and 3 others"."""
    unique = party_names(field)
    if len(unique) <= MAX_NAMES_SHOWN:
        return ", ".join(unique)
    rest = len(unique) - MAX_NAMES_SHOWN
    return f"{', '.join(unique[:MAX_NAMES_SHOWN])} and {rest} other{'s' if rest > 1 else ''}"
