"""Finds other people's data in text: addresses, numbers, ids, secrets and names, as character spans.

One ``Detector`` is built per run (its name tables cover every CRM name at once) and ``find`` is called
on every text. Speed matters as much as recall: the detector runs over every record before training,
so each kind has a cheap gate (an "@", a digit run, a literal prefix) before its costlier check, and
phone numbers are parsed only in the small windows around digit runs.

Names are the hard kind. They come from three places, strongest first:
- the CRM (``names=``): every sender and recipient, matched case-insensitively in either order;
- context: greetings and sign-offs ("Hi Bill,", "Thanks,\\nJuan"), titles ("Mr. Lozano"), bylines;
- the shipped lists (``names.py``): a known first name, alone or followed by a surname.
Words that are also ordinary words ("Will", "May", "Grant") are never a name on their own, only
with context. ``keep`` (the company, its products) and ``own_names`` (the person) are never replaced.
"""

from __future__ import annotations

import bisect
import ipaddress
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import phonenumbers
from stdnum import iban as stdnum_iban
from stdnum.br import cpf as stdnum_cpf
from stdnum.es import dni as stdnum_dni
from stdnum.es import nie as stdnum_nie
from stdnum.eu import vat as stdnum_vat
from stdnum.fr import nir as stdnum_nir
from stdnum.it import codicefiscale as stdnum_cf
from stdnum.us import itin as stdnum_itin

from doppel.privacy.names import NAME_SHAPED_FIRMS, common_words, first_names, is_english, last_names

KINDS: tuple[str, ...] = ("email", "phone", "card", "iban", "national_id", "ssn", "ip", "url_token", "secret", "name")


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    kind: str  # one of KINDS
    value: str  # text[start:end]


# When two findings overlap, the more specific wins: a token inside a URL is a url_token, not a secret;
# digits inside an IBAN are not a phone; a word inside an address is not a name.
_PRIORITY = {
    "url_token": 10,
    "secret": 9,
    "email": 8,
    "iban": 7,
    "card": 7,
    "national_id": 6,
    "ssn": 6,
    "ip": 5,
    "phone": 4,
    "name": 1,
}
_MASK = "_mask"  # a URL: names and numbers inside one are parts of it, not found on their own
_MASKED = frozenset({"name", "phone", "card", "ssn", "national_id"})
_DIGIT = re.compile(r"\d")

# ---------------------------------------------------------------------------------------------- patterns
#
# Python's re scans fast only for a pattern that starts with a literal or a character class, so the
# patterns below start with one and check what precedes the match with a look-behind placed after
# that first character ("\d(?<![\d-]\d)" = a digit not preceded by a digit or dash). Keyword-led
# patterns are lower-case and run on the lower-cased text: re.IGNORECASE over an alternation is
# several times slower.

_EMAIL = re.compile(
    r"(?<![\w.+'%-])[A-Za-z0-9][A-Za-z0-9._%+'-]*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![\w-])"
)
_URL = re.compile(r"""(?:https?|ftp)://[^\s<>"'`{}|\\^\[\]]+|www\.[^\s<>"'`{}|\\^\[\]]+""")  # on lower-cased text
_URL_PARAM = re.compile(r"[?&#;]([A-Za-z0-9_.\-\[\]]+)=([^&#;\s]+)")
_URL_USERINFO = re.compile(r"^[a-z][a-z0-9+.-]*://[^/@\s:]+:([^/@\s]+)@", re.IGNORECASE)
_TOKEN_PARAMS = frozenset(
    """token key api_key apikey api-key access_token refresh_token id_token auth auth_token authtoken sig
    signature code session sessionid session_id sid password pwd pass passwd secret client_secret otp ticket
    jwt oauth_token oauth_signature oauth_verifier x-amz-signature x-amz-credential x-amz-security-token
    reset_token invite_token hash""".split()
)
_TOKEN_SUFFIXES = ("_token", "_key", "_secret", "-signature", "_signature", "_sig", "password")
_URL_TRAILING = ".,;:!?)]}'\""

# Secrets recognisable by their own shape.
_SECRET_SHAPES = re.compile(
    r"(?:"
    r"(?:AKIA|ASIA)[0-9A-Z]{16}"  # AWS access key id
    r"|gh[pousr]_[A-Za-z0-9]{30,}"  # GitHub tokens
    r"|github_pat_[A-Za-z0-9_]{22,}"
    r"|xox[abposr]-[A-Za-z0-9-]{10,}"  # Slack
    r"|(?:sk|pk|rk)_(?:live|test)_[0-9A-Za-z]{10,}"  # Stripe
    r"|AIza[0-9A-Za-z_\-]{35}"  # Google API key
    r"|eyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}"  # JWT: two base64 JSON objects
    r")(?![\w-])"
)
_SECRET_GATE = ("AKIA", "ASIA", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "xox", "_live_", "_test_")
_SECRET_GATE += ("AIza", "eyJ")
_PEM_BEGIN = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----[ \t]*\r?\n")
_PEM_BODY = re.compile(r"(?:[A-Za-z0-9+/=:,\- \t]*\r?\n)*?[A-Za-z0-9+/=]+(?=\s*(?:-----END|\Z|\n\s*\n))")
# "password: X", "PIN is 1234", "verification code 123456": the value only. Which separators a keyword
# accepts, and what the value must look like, is decided in _keyword_secrets. On lower-cased text.
_SECRET_KEYWORD = re.compile(
    r"(?P<kw>pass(?:word|wd|code|phrase)s?|pwd|pw|pins?(?: ?code| ?number| ?no\.?| ?#)?"
    r"|(?:verification|security|access|confirmation|one[- ]time|auth(?:entication|orization)?|login|2fa|mfa|sms"
    r"|reset|activation|otp)[ -]?(?:code|pin|password|number)|otp|code)\b"
    r"(?P<sep>[ \t]*(?::|=|#|-|\bis\b|\bwas\b|\bwill be\b)?[ \t]*(?:\r?\n[ \t]*)?)"
    r"(?P<q>[\"'“‘]?)(?P<val>[^\s\"'”’<>]{3,64})"
)
_SECRET_WORDS = ("pass", "pw", "pin", "code", "otp")
_NOT_A_CODE = re.compile(
    r"(?:area|zip|postal|post|country|dial|error|status|source|tax|product|cost|deal|gl|sic|naics|sort|swift"
    r"|bank|iso|airport|dress|promo|discount|reference|ref|account|accounting|billing|transaction|reason"
    r"|response|return|exit|color|colour|bar|qr|morse|penal|civil|building|fire|tariff|commodity|region)"
    r"[ \t]*$",
    re.IGNORECASE,
)
_KEY_VALUE = re.compile(  # on lower-cased text: the value is read back from the original
    r"(?:api[_-]?key|apikey|secret(?:[_-]?key)?|client[_-]?secret|access[_-]?key(?:[_-]?id)?"
    r"|secret[_-]?access[_-]?key|auth[_-]?token|access[_-]?token|private[_-]?key|token|key)"
    r"[ \t]*[:=][ \t]*[\"']?([a-z0-9_\-+/.=]{16,})"
)
_BEARER = re.compile(r"Bearer[ \t]+([A-Za-z0-9._~+/-]{16,}=*)")

# Payment cards: contiguous, or grouped as cards print them (4-4-4-4[-3], Amex 4-6-5); Luhn decides.
_CARD = re.compile(
    r"\d(?<![\d.,/-]\d)(?:\d{12,18}|\d{3}(?P<s>[ -])\d{4}(?P=s)\d{4}(?P=s)\d{1,4}(?:(?P=s)\d{1,3})?"
    r"|\d{3}(?P<t>[ -])\d{6}(?P=t)\d{4,5})(?![\d-]|[.,/]\d)"
)
# ddd-dd-dddd: an SSN unless its area is 000, 666 or 9xx (9xx with the right group is a US ITIN).
_SSN_SHAPE = re.compile(r"\d(?<![\d-]\d)\d\d-\d\d-\d{4}(?![\d-])")
_SSN_KEYWORD = re.compile(  # on lower-cased text
    r"(?:ssn|ss#|ss no\.?|soc(?:ial)?\.? ?sec(?:urity)?\.?(?: ?(?:number|num|no\.?|#))?)[ \t]*[:#.-]?[ \t]*"
    r"(\d{3}[- ]?\d{2}[- ]?\d{4})(?![\d-])"
)
_IPV4 = re.compile(r"\d(?<![\w.]\d)\d{0,2}\.\d{1,3}\.\d{1,3}\.\d{1,3}(?!\w|\.\d)")
_IPV6 = re.compile(r"(?<![\w:.])(?=[0-9A-Fa-f:]*::|(?:[0-9A-Fa-f]{1,4}:){7})[0-9A-Fa-f:]{3,39}(?![\w:])")
_VERSION_BEFORE = re.compile(r"\b(?:v|version|ver\.?|release|build)[ \t]*$", re.IGNORECASE)
_IBAN = re.compile(r"[A-Z](?<!\w[A-Z])[A-Z]\d{2}(?:[ ]?[A-Z0-9]){11,30}\b")
# A run that may hold a phone number: digits with the punctuation numbers are written with. Only these
# windows (plus a margin for "+", "(" and extensions) reach phonenumbers, which is slow on whole texts.
_PHONE_RUN = re.compile(r"[+(\d](?:[\d \t./()\-]|\xa0){6,24}\d")  # "713/853-6384" too
_LOCAL_PHONE = re.compile(  # on lower-cased text
    r"(?:phone|ph|tel|telephone|cell|mobile|fax|pager|call(?: me)?(?: at| on)?|ext|x)[ \t]*[.:#]?[ \t]*"
    r"(\d{3}[-.]\d{4}|\d-\d{4})(?![\d-])"
)

# Checksummed national ids, each with a shape narrow enough that ordinary numbers rarely fit it and a
# python-stdnum validator that rejects most of those that do. EU VAT numbers need their country prefix.
_VAT_COUNTRIES = "AT|BE|BG|CY|CZ|DE|DK|EE|EL|ES|FI|FR|GB|HR|HU|IE|IT|LT|LU|LV|MT|NL|PL|PT|RO|SE|SI|SK|XI"
_VAT = re.compile(rf"(?:{_VAT_COUNTRIES})(?<!\w\w\w)[ ]?(?=[0-9A-Z+*]*\d)[0-9A-Z][0-9A-Z+*]{{6,13}}\b")
_ITIN = re.compile(r"9\d\d-\d\d-\d{4}")
_NATIONAL_IDS: tuple[tuple[re.Pattern, Callable[[str], bool]], ...] = (
    (_VAT, stdnum_vat.is_valid),
    (re.compile(r"\d(?<!\w\d)\d{7}-?[A-Z]\b"), stdnum_dni.is_valid),  # Spanish DNI
    (re.compile(r"[XYZ](?<!\w[XYZ])-?\d{7}-?[A-Z]\b"), stdnum_nie.is_valid),  # Spanish NIE
    (re.compile(r"[A-Z](?<!\w[A-Z])[A-Z]{5}\d{2}[A-EHLMPR-T]\d{2}[A-Z]\d{3}[A-Z]\b"), stdnum_cf.is_valid),  # Italy
    (re.compile(r"\d(?<!\w\d)\d\d\.\d{3}\.\d{3}-\d{2}\b"), stdnum_cpf.is_valid),  # Brazilian CPF, as printed
    (
        re.compile(r"[12](?<!\w[12])[ ]?\d{2}[ ]?\d{2}[ ]?(?:\d{2}|2[AB])[ ]?\d{3}[ ]?\d{3}[ ]?\d{2}\b"),
        stdnum_nir.is_valid,
    ),
)
# UK National Insurance number: no checksum, but a shape with letters ordinary text does not use.
_NINO = re.compile(
    r"[A-CEGHJ-PR-TW-Z](?<!\w[A-Z])[A-CEGHJ-NPR-TW-Z](?<!BG|GB|NK|KN|TN|NT|ZZ) ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b"
)


def national_id_shape(value: str) -> tuple[Callable[[str], bool], int] | None:
    """(the check a national id like ``value`` passes, how many leading characters say what kind of
    number it is: a VAT number's country "DE", an NIE's "X", an ITIN's "9", a French NIR's sex digit),
    so a fake can keep both; None if ``value`` is no national id known here."""
    for pattern, check in _NATIONAL_IDS:
        if pattern.fullmatch(value) and check(value):
            if pattern is _VAT:
                return check, 3 if value.startswith("ATU") else 2
            return check, 1 if check in (stdnum_nie.is_valid, stdnum_nir.is_valid) else 0
    if _ITIN.fullmatch(value) and stdnum_itin.is_valid(value):
        return stdnum_itin.is_valid, 1
    if _NINO.fullmatch(value):
        return (lambda v: bool(_NINO.fullmatch(v))), 0
    return None


def _lower(text: str) -> str:
    """``text`` lower-cased with every offset kept (a few characters, like "İ", lower to two)."""
    lowered = text.lower()
    if len(lowered) == len(text):
        return lowered
    return "".join(c if len(c.lower()) != 1 else c.lower() for c in text)


def _word_before(text: str, pos: int) -> bool:
    """Whether the match at ``pos`` continues a word (so is no keyword of its own): "opinion", "zipcode"."""
    return pos > 0 and (text[pos - 1].isalnum() or text[pos - 1] in "_-")


# ------------------------------------------------------------------------------------------------- names

_TOKEN = re.compile(r"[^\W\d_]+(?:['’-](?![sS]\b)[^\W\d_]+)*")  # "O'Brien", "Mary-Jane"; "Peggy's" → "Peggy"
_TITLES = frozenset({"mr", "mrs", "ms", "miss", "dr", "prof", "mx", "mister"})
# Greetings and sign-offs: the capitalised words right after one are a name even when they are also
# ordinary words ("Hi Bill,"). First word → (the words that must follow it, what the phrase is):
# "open" greetings may introduce names no list knows ("Hi Xochitl,"); "thanks" may be followed by the
# name without a comma ("Thanks Bill"); a "sign-off" needs its comma or line break ("Best, Will", not
# "the best Will"); a "header" needs its colon ("cc: Bill").
_GREETINGS: dict[str, tuple[tuple[tuple[str, ...], str], ...]] = {
    "hi": (((), "open"),),
    "hello": (((), "open"),),
    "hey": (((), "open"),),
    "dear": (((), "open"),),
    "good": ((("morning",), "open"), (("afternoon",), "open"), (("evening",), "open")),
    "thanks": ((("again",), "thanks"), ((), "thanks")),
    "thank": ((("you",), "thanks"),),
    "thx": (((), "thanks"),),
    "many": ((("thanks",), "thanks"),),
    "cheers": (((), "sign-off"),),
    "regards": (((), "sign-off"),),
    "best": ((("regards",), "sign-off"), (("wishes",), "sign-off"), ((), "sign-off")),
    "kind": ((("regards",), "sign-off"),),
    "warm": ((("regards",), "sign-off"),),
    "sincerely": (((), "sign-off"),),
    "yours": ((("truly",), "sign-off"), (("sincerely",), "sign-off"), ((), "sign-off")),
    "love": (((), "sign-off"),),
    **{h: (((), "header"),) for h in ("cc", "bcc", "attn", "attention", "to", "from")},
    "ciao": (((), "sign-off"),),
    "cya": (((), "sign-off"),),
}
# What may stand between a greeting and the name: a comma, colon or dash, a line break; "!" only before
# a line break ("Thanks!\nBill"); never a full stop ("Thanks. Will you ...?" starts a sentence).
_GREETING_GAP = re.compile(r"[ \t]*(?:[,:\-–]|!(?=[ \t]*\r?\n))?[ \t]*(?:\r?\n[ \t]*)?")
_BYLINE = re.compile(r"^[ \t]*by[ \t]+(?=[^\W\d_])", re.IGNORECASE | re.MULTILINE)
# Words a greeting is followed by that are not names, though no word list says so ("Hi all", "Dear Sir").
_NOT_NAMES = frozenset(
    """all everyone everybody team folks guys gang sir sirs madam madame there again so much you both ladies
    gentlemen colleagues friends y'all in advance for and again guy the a mr mrs ms dr""".split()
)
_NEVER_FIRST = frozenset(
    """january february march april may june july august september october november december monday tuesday
    wednesday thursday friday saturday sunday can my said per else the and""".split()
)
_MAX_NAME_WORDS = 4
# Words that make the name after them a place: "San Diego", "Santa Clara", "Fort Worth", "Lake Charles".
_PLACE_PREFIXES = frozenset(
    {"san", "santa", "santo", "sao", "são", "los", "las", "fort", "ft", "port", "mount", "lake"}
)
_SUFFIXES = frozenset({"jr", "sr", "ii", "iii", "iv", "phd", "md", "esq"})


def _closes_name(tokens: _Tokens, k: int) -> bool:
    """Word k ends its line or clause: the end of the text, a line break or punctuation follows."""
    if k + 1 >= len(tokens.words):
        return True
    gap = tokens.gap(k)
    return "\n" in gap or gap.lstrip(" \t")[:1] in (",", ".", ";", ":", "!", "?", ")")


def _ends_line(tokens: _Tokens, k: int) -> bool:
    """Nothing but spaces and punctuation between word k and the end of its line."""
    end = tokens.text.find("\n", tokens.ends[k])
    rest = tokens.text[tokens.ends[k] : end if end >= 0 else len(tokens.text)]
    return not any(c.isalnum() for c in rest)


def _is_title(word: str) -> bool:
    """Capitalised the way a name is written: "Peggy", "McDonald", "O'Brien" (not "PEGGY", not "peggy")."""
    return word[0].isupper() and not word.isupper()


def _is_caps(word: str) -> bool:
    return len(word) > 1 and word.isupper()


def _is_initial(word: str) -> bool:
    return len(word) == 1 and word.isupper()


def _name_words(name: str) -> tuple[str, ...]:
    """The lower-cased words of a CRM name in First … Last order, initials left out ("Smith, Ann B." → ann smith)."""
    head, comma, tail = name.partition(",")
    words = [w.lower() for w in _TOKEN.findall(f"{tail} {head}" if comma and tail.strip() else head)]
    return tuple(w for w in words if len(w) > 1)


class _Tokens:
    """The words of one text, with their offsets; built once per ``find``."""

    __slots__ = ("text", "starts", "ends", "words", "lowers")

    def __init__(self, text: str):
        self.text = text
        found = list(_TOKEN.finditer(text))
        self.starts = [m.start() for m in found]
        self.ends = [m.end() for m in found]
        self.words = [m.group() for m in found]
        self.lowers = [w.lower() for w in self.words]

    def gap(self, i: int) -> str:
        """The characters between word i and word i + 1."""
        return self.text[self.ends[i] : self.starts[i + 1]]


def _plain_gap(gap: str) -> bool:
    # One to three spaces, or one tab ("Vargas\tLaura"); more tabs separate table columns.
    return 0 < len(gap) <= 3 and not gap.strip(" \t\xa0") and gap.count("\t") <= 1


def _initial_gap(gap: str) -> bool:
    return 0 < len(gap) <= 3 and gap.strip(" \t\xa0") in ("", ".")


def _comma_gap(gap: str) -> bool:
    return 0 < len(gap) <= 3 and gap.strip(" \t\xa0") == ","


# ---------------------------------------------------------------------------------------------- detector


class Detector:
    """Finds spans of other people's data; built once, used on every text of a run."""

    def __init__(
        self,
        *,
        names: Iterable[str] = (),
        keep: Iterable[str] = (),
        own_names: Iterable[str] = (),
        kinds: Iterable[str] | None = None,
    ):
        self.kinds = frozenset(KINDS if kinds is None else kinds)
        unknown = self.kinds - set(KINDS)
        if unknown:
            raise ValueError(f"unknown kinds {sorted(unknown)}; known: {', '.join(KINDS)}")
        self._first, self._last = first_names(), last_names()
        self._common = common_words()

        # Kept: a value equal to an entry (any kind, case-insensitive), and any name with a kept word
        # in it ("Enron" keeps "Enron North America" from becoming a person). An address at a kept
        # domain is still found; Fakes(keep=...) keeps its domain.
        keep_list = [k.strip() for k in keep if k and k.strip()]
        self._keep_values = {k.lower() for k in keep_list}
        self._keep_words = {w.lower() for k in keep_list for w in _TOKEN.findall(k)}

        own_list = [o.strip() for o in own_names if o and o.strip()]
        self._own_values = {o.lower() for o in own_list}
        self._own_words = {w.lower() for o in own_list for w in _TOKEN.findall(o) if len(w) > 1}

        # CRM names: first word → second word → the word tuples that start with both, longest first.
        # Each name is entered in both orders ("Peggy Mahoney", "Mahoney, Peggy"), so two dict lookups
        # per word of text find any of thousands of names, however many share a first name.
        self._crm: dict[str, dict[str, list[tuple[tuple[str, ...], bool]]]] = {}
        self._crm_single: set[str] = set()
        for name in names:
            words = _name_words(name)
            if not words or len(words) > _MAX_NAME_WORDS + 1:
                continue
            if set(words) <= self._own_words or set(words) <= self._keep_words:
                continue
            known = [w for w in words if (w in self._first or w in self._last) and w not in self._common]
            if len(words) == 1:
                self._crm_single.update(known)
                continue
            # A CRM also names mailing lists and departments ("Human Resources", "Office of the
            # Chairman"). A name is a person's when a list knows one of its words as a name and no
            # other word ("Peggy Mahoney"), when it starts with a first name and ends with a surname
            # or an unknown word ("Will Price", "Bill Rapp"), or when none of its words is an ordinary
            # one ("Vladi Pimenov").
            personal = (
                known
                or (words[0] in self._first and (words[-1] in self._last or not self._ordinary(words[-1])))
                or not any(self._ordinary(w) for w in words if w not in _SUFFIXES)
            )
            if not personal:
                continue
            self._add_crm(words, reversed_order=False)
            self._add_crm((words[-1], *words[:-1]), reversed_order=True)
            # Their single words too, where the lists know them as names and they are not ordinary
            # words: "Peggy" and "Mahoney" alone are still Peggy Mahoney, but "Daily" of "Pamela Daily"
            # would take "Business Daily" with it, so unknown words count only in the whole name.
            self._crm_single.update(w for w in known if w not in self._keep_words and w not in self._own_words)
        for by_second in self._crm.values():
            for variants in by_second.values():
                variants.sort(key=lambda v: (-len(v[0]), v))  # longest first; sorted: no run depends on set order

    def _ordinary(self, low: str) -> bool:
        return low in self._common or is_english(low)

    def _unknown_name_word(self, word: str, low: str) -> bool:
        """A capitalised word no list knows that may still be a name: not ordinary, not "I'm", "Testing"."""
        if not _is_title(word) or self._ordinary(low) or low in _NOT_NAMES:
            return False
        return not low.endswith(("ing", "ed", "ly")) and not re.search(r"['’][a-z]", word)

    def _name_word(self, low: str) -> bool:
        """Could be a name where context says one follows: a known name, or no ordinary word."""
        return low in self._first or low in self._last or low in self._crm_single or not self._ordinary(low)

    def _add_crm(self, words: tuple[str, ...], *, reversed_order: bool) -> None:
        """Enter one word order of a name; ``reversed_order`` (surname first) also lets a comma follow
        the first word. "Mahoney Peggy" entered both ways keeps the comma allowed."""
        variants = self._crm.setdefault(words[0], {}).setdefault(words[1], [])
        for k, (known, comma) in enumerate(variants):
            if known == words:
                variants[k] = (known, comma or reversed_order)
                return
        variants.append((words, reversed_order))

    # ------------------------------------------------------------------------------------------ find

    def find(self, text: str) -> list[Span]:
        """Every span found, sorted and non-overlapping (where two overlap the more specific kind wins,
        then the longer)."""
        if not text:
            return []
        found: list[tuple[int, int, str]] = []
        on = self.kinds
        lowered = _lower(text)
        if "email" in on and "@" in text:
            found += [(m.start(), m.end(), "email") for m in _EMAIL.finditer(text)]
        if "://" in text or "www." in lowered:
            found += self._urls(text, lowered, "url_token" in on)
        if "secret" in on:
            found += self._secrets(text, lowered)
        if _DIGIT.search(text):
            found += self._numbers(text, lowered)
        if "name" in on:
            found += self._names(text)
        return self._resolve(text, found)

    def _resolve(self, text: str, found: list[tuple[int, int, str]]) -> list[Span]:
        masks = [(s, e) for s, e, k in found if k == _MASK]
        found = [f for f in found if f[2] != _MASK and self._allowed(text, *f)]
        if masks:
            found = [f for f in found if f[2] not in _MASKED or all(f[1] <= s or f[0] >= e for s, e in masks)]
        found.sort(key=lambda f: (-_PRIORITY[f[2]], -(f[1] - f[0]), f[0]))
        # Greedy by rank; the spans taken are kept sorted and never overlap, so a candidate only has
        # to be checked against its two neighbours (a text with thousands of names stays linear-ish).
        starts: list[int] = []
        taken: list[tuple[int, int, str]] = []
        for start, end, kind in found:
            k = bisect.bisect_left(starts, start)
            if k and taken[k - 1][1] > start:
                continue
            if k < len(taken) and taken[k][0] < end:
                continue
            starts.insert(k, start)
            taken.insert(k, (start, end, kind))
        return [Span(s, e, k, text[s:e]) for s, e, k in taken]

    def _allowed(self, text: str, start: int, end: int, kind: str) -> bool:
        value = text[start:end].lower()
        if value in self._own_values or value in self._keep_values or start >= end:
            return False
        if kind == "email":
            return True
        if kind == "name":
            words = {w.lower() for w in _TOKEN.findall(value) if len(w) > 1}
            return bool(words) and not words <= self._own_words and not words & self._keep_words
        return True

    # ----------------------------------------------------------------------------------------- kinds

    def _urls(self, text: str, lowered: str, tokens_on: bool) -> list[tuple[int, int, str]]:
        found: list[tuple[int, int, str]] = []
        for m in _URL.finditer(lowered):
            if _word_before(lowered, m.start()):
                continue
            base = m.start()
            url = text[base : m.end()].rstrip(_URL_TRAILING)
            found.append((base, base + len(url), _MASK))
            if not tokens_on:
                continue
            user = _URL_USERINFO.match(url)
            if user:
                found.append((base + user.start(1), base + user.end(1), "url_token"))
            for p in _URL_PARAM.finditer(url):
                name, value = p.group(1).lower(), p.group(2)
                if len(value) >= 3 and (name in _TOKEN_PARAMS or name.endswith(_TOKEN_SUFFIXES)):
                    found.append((base + p.start(2), base + p.end(2), "url_token"))
        return found

    def _secrets(self, text: str, lowered: str) -> list[tuple[int, int, str]]:
        found: list[tuple[int, int, str]] = []
        if any(g in text for g in _SECRET_GATE):
            found += [
                (m.start(), m.end(), "secret")
                for m in _SECRET_SHAPES.finditer(text)
                if not _word_before(text, m.start())
            ]
        if "PRIVATE KEY" in text:
            for m in _PEM_BEGIN.finditer(text):
                body = _PEM_BODY.match(text, m.end())
                if body:
                    found.append((body.start(), body.end(), "secret"))
        if any(w in lowered for w in _SECRET_WORDS):
            found += self._keyword_secrets(text, lowered)
        if "key" in lowered or "token" in lowered or "secret" in lowered:
            for m in _KEY_VALUE.finditer(lowered):
                start = m.start(1)
                value = text[start : m.end(1)].rstrip(".,;:")
                if not _word_before(lowered, m.start()) and _looks_random(value):
                    found.append((start, start + len(value), "secret"))
        if "Bearer" in text:
            found += [(m.start(1), m.end(1), "secret") for m in _BEARER.finditer(text) if _looks_random(m.group(1))]
        return found

    @staticmethod
    def _keyword_secrets(text: str, lowered: str) -> list[tuple[int, int, str]]:
        found: list[tuple[int, int, str]] = []
        for m in _SECRET_KEYWORD.finditer(lowered):
            if _word_before(lowered, m.start()):
                continue
            keyword, sep = m.group("kw"), m.group("sep")
            value = text[m.start("val") : m.end("val")]
            quoted = bool(m.group("q"))
            # Trailing punctuation ends the sentence, not the value; but "Password: WELCOME!" keeps its "!".
            is_password = keyword.startswith(("pass", "pwd", "pw"))
            value = value if quoted else value.rstrip(".,;:)]}" if is_password else ".,;:!?)]}")
            if len(value) < 3:
                continue
            marked = any(c in sep for c in ":=#-") or quoted  # "password: x", "pin=1234"
            worded = bool(re.search(r"\b(?:is|was|will be)\b", sep))  # "PIN is 1234"
            has_digit = any(c.isdigit() for c in value)
            if is_password:
                if keyword == "pw" and not marked:
                    continue
                # "password: anything"; "password is X" only when X is not a plain word ("is expired").
                ok = marked or (worded and (has_digit or not value.isalpha() or not value.islower()))
                ok = ok or (has_digit and not sep.strip())  # "password Enron2001"
            elif keyword == "code":
                # "code" alone is the weakest keyword: digits needed, and not an area/zip/error code.
                ok = (
                    (marked or worded)
                    and has_digit
                    and not _NOT_A_CODE.search(text[max(0, m.start() - 24) : m.start()])
                )
            else:  # PIN, OTP, verification code ...: numbers, or short mixes of letters and digits
                ok = sum(c.isdigit() for c in value) * 2 >= len(value)
            if ok and not value.startswith(("http", "www.")):
                found.append((m.start("val"), m.start("val") + len(value), "secret"))
        return found

    def _numbers(self, text: str, lowered: str) -> list[tuple[int, int, str]]:
        on = self.kinds
        found: list[tuple[int, int, str]] = []
        if "card" in on:
            for m in _CARD.finditer(text):
                value = m.group()
                if not _card(value) and m.group("s"):  # "4111 1111 1111 1111 5." (a list number after it)
                    value = value[: value.rfind(m.group("s"))]
                if _card(value):
                    found.append((m.start(), m.start() + len(value), "card"))
        if "-" in text:
            for m in _SSN_SHAPE.finditer(text):
                value = m.group()
                area, group, serial = value[:3], value[4:6], value[7:]
                if area[0] == "9":  # not an SSN; with a group of 50-65, 70-88, 90-92, 94-99 a US ITIN
                    if "national_id" in on and stdnum_itin.is_valid(value):
                        found.append((m.start(), m.end(), "national_id"))
                elif "ssn" in on and area not in ("000", "666") and group != "00" and serial != "0000":
                    found.append((m.start(), m.end(), "ssn"))
        if "ssn" in on and ("ss" in lowered or "soc" in lowered):
            for m in _SSN_KEYWORD.finditer(lowered):
                area = m.group(1)[:3]
                if not _word_before(lowered, m.start()) and area not in ("000", "666") and area[0] != "9":
                    found.append((m.start(1), m.end(1), "ssn"))
        if "ip" in on:
            found += _ips(text)
        if "iban" in on:
            for m in _IBAN.finditer(text):
                span = _valid_iban_prefix(m.group())
                if span:
                    found.append((m.start(), m.start() + span, "iban"))
        if "national_id" in on:
            for pattern, check in _NATIONAL_IDS:
                found += [(m.start(), m.end(), "national_id") for m in pattern.finditer(text) if check(m.group())]
            found += [(m.start(), m.end(), "national_id") for m in _NINO.finditer(text)]
        if "phone" in on:
            found += _phones(text, lowered)
        return found

    # ----------------------------------------------------------------------------------------- names

    def _names(self, text: str) -> list[tuple[int, int, str]]:
        tokens = _Tokens(text)
        n = len(tokens.words)
        if not n:
            return []
        found: list[tuple[int, int, str]] = []
        strong = _greeted(tokens)  # word index → the context that introduced it (see _greeted)
        if "by" in tokens.lowers or "BY" in tokens.words:
            for m in _BYLINE.finditer(text):
                i = bisect.bisect_left(tokens.starts, m.end())
                if i < n and tokens.starts[i] == m.end():
                    strong[i] = "byline"

        words, lowers, crm = tokens.words, tokens.lowers, self._crm
        i = 0
        while i < n:
            if not words[i][0].isupper() and lowers[i] not in crm:
                i += 1  # the common case: a lower-case word no CRM name starts with
                continue
            if i + 1 < n and (lowers[i], lowers[i + 1]) in NAME_SHAPED_FIRMS:
                i += 2  # "Morgan Stanley": neither word is a person here
                continue
            if i and lowers[i - 1] in _PLACE_PREFIXES and words[i - 1][0].isupper() and _initial_gap(tokens.gap(i - 1)):
                if lowers[i] not in crm:
                    i += 1  # "San Diego", "Fort Worth", "St. Charles": places
                    continue
            end = self._name_at(tokens, i, strong)
            if end is None:
                i += 1
                continue
            first_word, last_word = end
            found.append((tokens.starts[first_word], tokens.ends[last_word], "name"))
            i = last_word + 1
        return found

    def _name_at(self, tokens: _Tokens, i: int, strong: dict[int, str]) -> tuple[int, int] | None:
        """(first word, last word) of a name starting at word i, or None."""
        word, low = tokens.words[i], tokens.lowers[i]
        crm = self._crm_match(tokens, i)
        if crm is not None:
            return crm
        if not (_is_title(word) or _is_caps(word)) or len(word) < 2:
            return None
        if low in _TITLES and i + 1 < len(tokens.words) and _initial_gap(tokens.gap(i)):
            # "Mr. Lozano", "Ms. Price"; not "…, MS. The" (Mississippi, then a sentence).
            j, after = i + 1, tokens.words[i + 1]
            same_case = _is_caps(word) == _is_caps(after) or _is_title(word)
            if (_is_title(after) or _is_caps(after)) and same_case and self._name_word(tokens.lowers[j]):
                return self._extend(tokens, j, j, context=True)
        reversed_name = self._reversed_name(tokens, i)
        if reversed_name is not None:
            return reversed_name
        if i in strong:
            if low in self._first or low in self._last or low in self._crm_single:
                return self._extend(tokens, i, i, context=True)
            if strong[i] in ("open", "signature") and self._unknown_name_word(word, low):
                # "Hi Xochitl," names anyone; a sign-off only a signature line: "Thanks,\nXochitl Tavorin"
                # and nothing else on that line ("Thanks,\nLegal Department" has ordinary words).
                found = self._extend(tokens, i, i, context=True)
                if strong[i] == "open" or _ends_line(tokens, found[1]):
                    return found
        if low in self._crm_single:
            return self._extend(tokens, i, i, context=False)
        if low in self._first and low not in _NEVER_FIRST:
            weak = low in self._common
            caps = _is_caps(word)
            last = self._surname_after(tokens, i, weak=weak, caps=caps)
            if last is not None:
                return (i, last)
            if not weak and not caps and len(word) > 2:
                return (i, i)
        return None

    def _reversed_name(self, tokens: _Tokens, i: int) -> tuple[int, int] | None:
        """ "Lozano, Juan" / "Tholt, Jane": a surname (known, or no ordinary word), a comma and a first
        name that is no ordinary word, as address books and recipient lists write people."""
        word, low = tokens.words[i], tokens.lowers[i]
        j = i + 1
        gap = tokens.gap(i) if j < len(tokens.words) else ""
        if not _comma_gap(gap) or gap == "," or len(word) < 2:  # "Lozano, Juan", not "Ciao,Kay"
            return None
        if not (_is_title(word) or _is_caps(word)) or _is_caps(word) != _is_caps(tokens.words[j]):
            return None
        if low in self._common or low in self._keep_words or (low not in self._last and self._ordinary(low)):
            return None
        first = tokens.lowers[j]
        if first in self._first and first not in self._common and (_is_title(tokens.words[j]) or _is_caps(word)):
            return (i, j)
        return None

    def _crm_match(self, tokens: _Tokens, i: int) -> tuple[int, int] | None:
        by_second = self._crm.get(tokens.lowers[i])
        if not by_second or not self._crm_word_ok(tokens, i, tokens.lowers[i]):
            return None
        second = self._next_word(tokens, i, comma=True)
        if second is None:
            return None
        variants = by_second.get(tokens.lowers[second])
        if not variants or not self._crm_word_ok(tokens, second, tokens.lowers[second]):
            return None
        comma = i + 1 < len(tokens.words) and _comma_gap(tokens.gap(i))
        for words, comma_allowed in variants:
            if comma and not comma_allowed:
                continue  # "Peggy, Mahoney and ..." is a list, not "Mahoney, Peggy"
            j, ok = second, True
            for expected in words[2:]:
                j = self._next_word(tokens, j)
                ok = j is not None and tokens.lowers[j] == expected and self._crm_word_ok(tokens, j, expected)
                if not ok:
                    break
            if ok and j is not None:
                return (i, j)
        return None

    def _crm_word_ok(self, tokens: _Tokens, i: int, low: str) -> bool:
        # Case-insensitive, except that a CRM word which is also an ordinary word must be capitalised:
        # a "Will Price" in the CRM must not eat "we will price it".
        return low not in self._common or tokens.words[i][0].isupper()

    @staticmethod
    def _next_word(tokens: _Tokens, i: int, *, comma: bool = False) -> int | None:
        """The next word of a name after word i, stepping over up to two middle initials ("Juan A. Lozano")."""
        n = len(tokens.words)
        j = i + 1
        skipped = 0
        while j < n:
            gap = tokens.gap(j - 1)
            # A full stop only after an initial: "Juan A. Lozano", but not "... to Peggy. Mahoney said".
            after_initial = _is_initial(tokens.words[j - 1]) and _initial_gap(gap)
            if not (_plain_gap(gap) or after_initial or (comma and j == i + 1 and _comma_gap(gap))):
                return None
            if _is_initial(tokens.words[j]) and skipped < 2:
                j += 1
                skipped += 1
                continue
            return j
        return None

    def _surname_after(self, tokens: _Tokens, i: int, *, weak: bool, caps: bool) -> int | None:
        """The last word of "First [Middle|I.] Last" when word i is a first name and a surname follows."""
        j = self._next_word(tokens, i)
        if j is None:
            return None
        word, low = tokens.words[j], tokens.lowers[j]
        if caps != _is_caps(word) or not (caps or _is_title(word)) or len(word) < 2:
            return None
        if (tokens.lowers[i], low) in NAME_SHAPED_FIRMS or low in self._keep_words:
            return None
        # A second first name ("Mary Ann Smith", "Juan Carlos Lopez") may stand between.
        if low in self._first and low not in self._common and not weak:
            further = self._surname_after(tokens, j, weak=False, caps=caps)
            if further is not None:
                return further
        if low in self._last:
            return j if not (weak and low in self._common) else None
        if weak or caps:
            return None
        # An unknown capitalised word after a known first name is most often a surname no list holds
        # ("Peggy Mahoney"); ordinary words ("Peggy Said", "Juan Energy") are not.
        return j if not self._ordinary(low) else None

    def _extend(self, tokens: _Tokens, i: int, j: int, *, context: bool) -> tuple[int, int]:
        """Grow a name that starts at word i over the capitalised name-like words after word j."""
        count = j - i + 1
        while count < _MAX_NAME_WORDS:
            k = self._next_word(tokens, j)
            if k is None:
                break
            word, low = tokens.words[k], tokens.lowers[k]
            if not (_is_title(word) or _is_caps(word)) or low in self._keep_words:
                break
            name_like = (low in self._first or low in self._last or low in self._crm_single) and low not in self._common
            # An ordinary word ends a name ("Smith Street"), unless context made it one and it is a
            # surname closing the line or clause: "Thanks,\nMark Green".
            if not name_like and not (context and low in self._last and _closes_name(tokens, k)):
                if self._ordinary(low) or not context:
                    break
            j = k
            count += 1
        return (i, j)


# ---------------------------------------------------------------------------------------------- helpers


def _card(value: str) -> bool:
    digits = value.replace(" ", "").replace("-", "")
    return 13 <= len(digits) <= 19 and digits[0] in "23456" and luhn_valid(digits)


def luhn_valid(digits: str) -> bool:
    total = 0
    for k, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if k % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _valid_iban_prefix(candidate: str) -> int:
    """Length of the longest valid IBAN at the start of ``candidate`` (the pattern may run into the
    next word when it is upper-case alphanumeric), 0 if none."""
    groups = candidate.split(" ")
    for k in range(len(groups), 0, -1):
        piece = " ".join(groups[:k])
        if len(piece.replace(" ", "")) < 15:
            break
        if stdnum_iban.is_valid(piece):
            return len(piece)
    return 0


def _looks_random(value: str) -> bool:
    """A machine-made token rather than a word or identifier: mixed character classes and high entropy."""
    classes = sum((any(c.islower() for c in value), any(c.isupper() for c in value), any(c.isdigit() for c in value)))
    if classes < 2 or len(value) < 16:
        return False
    counts = Counter(value)
    entropy = -sum(c / len(value) * math.log2(c / len(value)) for c in counts.values())
    return entropy >= 3.0


def _ips(text: str) -> list[tuple[int, int, str]]:
    found: list[tuple[int, int, str]] = []
    if text.count(".") >= 3:
        for m in _IPV4.finditer(text):
            try:
                address = ipaddress.IPv4Address(m.group())
            except ValueError:  # an octet over 255, or with a leading zero
                continue
            if address.is_unspecified or address.is_loopback or m.group().startswith("255."):
                continue
            if _VERSION_BEFORE.search(text[max(0, m.start() - 12) : m.start()]):
                continue  # "version 1.2.3.4"
            found.append((m.start(), m.end(), "ip"))
    if "::" in text or text.count(":") >= 7:
        for m in _IPV6.finditer(text):
            try:
                address6 = ipaddress.IPv6Address(m.group())
            except ValueError:  # "10:30:45" and other colons
                continue
            if not (address6.is_unspecified or address6.is_loopback):
                found.append((m.start(), m.end(), "ip"))
    return found


def _phones(text: str, lowered: str) -> list[tuple[int, int, str]]:
    """Phone numbers, parsed by phonenumbers (US by default, any country with "+") only in the windows
    around runs of at least seven digits, so long texts full of dates and amounts stay cheap.

    Leniency VALID: a number must be one a carrier could assign. POSSIBLE also takes 7-digit deal numbers,
    invoice ids and version strings (on the Enron mailboxes: 1,710 matches against 1,319, and the 291
    extra distinct strings are nearly all such); the seven-digit local numbers real mail writes
    ("x3-5432", "ph 853-6384") are taken by a keyword pattern instead.
    """
    # Windows: each qualifying run with a margin for "tel:+" before and "ext. 1234" after; runs whose
    # windows touch share one (a column of numbers is parsed in one call, not one per number).
    windows: list[list] = []  # [start, end, runs]
    for m in _PHONE_RUN.finditer(text):
        # Without a "+", only a North American number can be VALID here, and it has ten digits (plus a
        # leading 1); shorter runs (deal numbers, "1,250") would be parsed only to be rejected.
        if _digits(m.group()) < (7 if "+" in m.group() else 10):
            continue
        start, end = max(0, m.start() - 6), min(len(text), m.end() + 16)
        if windows and start <= windows[-1][1]:
            windows[-1][1] = end
            windows[-1][2].append(m)
        else:
            windows.append([start, end, [m]])
    found: list[tuple[int, int, str]] = []
    for start, end, runs in windows:
        hits = _parse_phones(text, start, end)
        if not hits and len(runs) == 1:
            # phonenumbers takes a run as one number or none: "(505) 318-4853 1." (a list number after
            # it) fails whole. Try it without its last, then its first, group of digits, where what is
            # left is still long enough to be a number.
            run, m = runs[0].group(), runs[0]
            enough = 7 if "+" in run else 10
            cut = run.rstrip().rfind(" ")
            if cut > 0 and _digits(run[:cut]) >= enough:
                hits = _parse_phones(text, start, m.start() + cut)
            cut = run.find(" ")
            if not hits and cut > 0 and _digits(run[cut:]) >= enough:
                hits = _parse_phones(text, m.start() + cut, end)
        found += hits
    found += [
        (m.start(1), m.end(1), "phone") for m in _LOCAL_PHONE.finditer(lowered) if not _word_before(lowered, m.start())
    ]
    return found


def _digits(text: str) -> int:
    return sum(c.isdigit() for c in text)


def _parse_phones(text: str, start: int, end: int) -> list[tuple[int, int, str]]:
    matches = phonenumbers.PhoneNumberMatcher(text[start:end], "US", leniency=phonenumbers.Leniency.VALID)
    return [(start + match.start, start + match.end, "phone") for match in matches]


def _greeted(tokens: _Tokens) -> dict[int, str]:
    """The words that follow a greeting or sign-off, each with its context: "open" after "Hi", "Dear"
    (any name may follow), "signature" at the start of the line after a sign-off, else "other"."""
    strong: dict[int, str] = {}
    lowers, n, text = tokens.lowers, len(tokens.lowers), tokens.text
    for i, low in enumerate(lowers):
        phrases = _GREETINGS.get(low)
        if phrases is None or (i and text[tokens.starts[i] - 1] in "-_"):
            continue
        for follow, kind in phrases:
            last = i + len(follow)
            if last + 1 >= n or tuple(lowers[i + 1 : last + 1]) != follow:
                continue
            if follow and not _plain_gap(tokens.gap(i)):
                continue
            gap = tokens.gap(last)
            if not _GREETING_GAP.fullmatch(gap):
                continue
            if kind == "header" and ":" not in gap:
                continue
            if kind == "sign-off" and not any(c in gap for c in ",!\n-–"):
                continue
            strong[last + 1] = "open" if kind == "open" else "signature" if "\n" in gap else "other"
            break
    return strong


def changed_token_share(text: str, spans: Sequence[Span]) -> tuple[int, int]:
    """(whitespace-separated tokens that a span touches, all tokens): how much of a text a rewrite changes."""
    starts, ends = [], []
    for m in re.finditer(r"\S+", text):
        starts.append(m.start())
        ends.append(m.end())
    changed: set[int] = set()
    for span in spans:
        # Tokens overlapping [span.start, span.end): those starting before its end and ending after its start.
        k = bisect.bisect_right(ends, span.start)
        while k < len(starts) and starts[k] < span.end:
            changed.add(k)
            k += 1
    return len(changed), len(starts)
