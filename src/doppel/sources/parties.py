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
