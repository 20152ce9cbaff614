"""Name lists for detection and fakes, read from what faker ships (nothing is downloaded).

``first_names`` and ``last_names`` are the union of faker's person providers for the Latin-script
locales an English-speaking CRM is likely to meet; ``common_words`` are the ones among them (and the
places and calendar words that look like names) that are ordinary words too often to be taken for a
name on their own: "May", "Will", "Grant", "Summer", "Austin".

``fake_first_names`` / ``fake_last_names`` are the pools fakes are drawn from: English-language
locales only, so a fake reads like a name the data could hold, and never a common word (a fake
"Hope" would read as a word and change the sentence).

Everything is lower-cased and cached: the lists are built once per process (~50 ms).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterable
from functools import lru_cache

# Locales whose names reach a US/European CRM. Non-Latin scripts would never match Latin text, and
# the larger the union the more ordinary words collide with it, so this is a deliberate subset.
_DETECT_LOCALES = (
    *("en_US", "en_GB", "en_IE", "en_NZ", "en_IN"),
    *("de_DE", "de_AT", "de_CH", "fr_FR", "fr_CA", "es_ES", "es_MX", "it_IT", "nl_NL", "pt_BR", "pt_PT"),
    *("sv_SE", "da_DK", "no_NO", "fi_FI", "pl_PL", "cs_CZ"),
)
_FAKE_LOCALES = ("en_US", "en_GB", "en_IE", "en_NZ")
_FIRST_ATTRS = ("first_names", "first_names_male", "first_names_female", "first_names_nonbinary")
_LAST_ATTRS = ("last_names", "last_names_male", "last_names_female")
# Words of a multi-word entry ("María Cristina", "Heinz-Jürgen"): hyphens and apostrophes stay inside.
_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")

# Ordinary English words that faker's lists also hold as names. Made by intersecting the lists above
# with the frequent lower-case whole words of an English BPE vocabulary and with the words the Enron
# mailboxes write in lower case, then reviewed by hand: a word stays here when its capitalised form is
# often *not* a person (sentence starts, headings, products): "Can", "Line", "Summer", "Grant". Names
# that happen to be rare words ("Sue", "Ray", "Drew", "Jack", "Hunter") are left out on purpose:
# written with a capital they are nearly always people.
_COMMON = """
a about after again ago ale all also am an and ante any are art as asia at aura autumn ball banks bar bas bass
bath beat bell belle bent best bill bird black blaze bliss bloom bond bones boss bow brand brave brick bridge
bright brook brooks brown buck bud bull burns bush by cal can candy cant carry case cash cast cat chance chang chuck
chapel charity cherry church clay clear cliff coal colon company cook coral cord cross crystal dam dash date
dawn day de deep del den der des destiny dev di diamond die divine do doctor dom dos down downs duke early
earnest east eco edit elder else em en end english ever faith fall fame far fee few field fields fine flood
floor flora flower flowers foot ford forest forget fort forum foster fox frank free fresh frost game garden
gates gay gem gift glass gold golden good grace grand grant gray green grey gross guard gun guy hale hall ham
hammer hardy harm harmony harsh haven hay heart hell her high hill hills holiday honey hood hook hope horn
house hunt il in is it ivory jet job joy judge junior just justice keen key kidney killer kind king kiss lake
lamb land lane lark law le lean liberty lie light like lily line list little lo long lord lot love loyal lucky
luck ma mac major man march marine mark marks marsh master mate max may me mean mentor merry meta mil miles mill
mills miner mint mo moon more moss mountain must my neo new no noble north nu oak odd of ok olive om on or our
over page pal palm park parks pastor patience peace pearl peer per pitt pole pope post power powers price
prince rain range raven read real reed rich ridge ring river rivers rock rose rush sage said sale sales salmon
sand say sea see sharp shine short silk silver sky small smart snow so sol sole sparks spring stack star steel
stern stock stone storm story street strong summer summers sunny swift tea temple the ties till tip to tone
trust union unity up urban us van vale valentine victory vigil violet wall walls ward ware water waters way we
weeks wells west white wild will winter winters wise wolf wood woods young pat rob herb cliff dot rusty skip
sis nan butch dick
"""

# Short forms English speakers sign with that faker's lists lack ("Bob" is there, "Doug" is not).
_NICKNAMES = """
will matt pat rob mikey teddy hank chuck jen deb barb patti phil doug trish stu hal herb walt gabe abe cliff gus
ollie dottie dot bev trudy gerry mitch marty rudy rusty woody bart bert butch dick eddie freddie gil ike jeb lenny
ned pete rocky skip sid tad vic wes zeke kathi kris lynne midge nan nell patsy peg sal sis tess val vicky
"""

_CALENDAR = """
january february march april may june july august september october november december
jan feb mar apr jun jul aug sep sept oct nov dec
monday tuesday wednesday thursday friday saturday sunday mon tue tues wed thu thur thurs fri sat sun
spring summer autumn fall winter christmas easter
"""

# Cities and regions that faker's lists hold as names ("Dallas", "Austin", "Houston"); single-word
# states and countries come from faker's address provider. Places that are more often a person in
# a CRM than a place ("Victoria", "Madison", "Sydney") are left out.
_PLACES = """
austin dallas houston denver phoenix orlando lincoln paris london berlin vienna brooklyn york cleveland
raleigh tulsa columbia cambridge oxford jersey orleans lafayette laramie cheyenne odessa nevada dakota
montana indiana georgia virginia carolina florida mexico hampshire america americas europe africa sydney
"""

# Institutions spelled like a person ("Morgan Stanley"): as a pair, never a name.
NAME_SHAPED_FIRMS = frozenset(
    {
        ("morgan", "stanley"),
        ("goldman", "sachs"),
        ("dow", "jones"),
        ("merrill", "lynch"),
        ("wells", "fargo"),
        ("charles", "schwab"),
        ("arthur", "andersen"),
        ("smith", "barney"),
        ("lehman", "brothers"),
        ("ernst", "young"),
        ("price", "waterhouse"),
        ("dean", "witter"),
        ("edward", "jones"),
        ("john", "deere"),
        ("jack", "daniels"),
        ("robertson", "stephens"),
    }
)


def _words(entries: Iterable[str]) -> set[str]:
    return {w.lower() for entry in entries for w in _WORD.findall(entry)}


def _provider_names(locales: tuple[str, ...], attrs: tuple[str, ...]) -> set[str]:
    found: set[str] = set()
    for locale in locales:
        try:
            provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
        except ImportError:  # a faker release without this locale: the union is just smaller
            continue
        for attr in attrs:
            found |= _words(getattr(provider, attr, None) or ())
    # Single letters are initials, and two-letter entries ("Li", "Bo", "Jo") collide with words and
    # abbreviations far more often than they name someone.
    return {w for w in found if len(w) > 2}


@lru_cache(maxsize=1)
def first_names() -> frozenset[str]:
    return frozenset(_provider_names(_DETECT_LOCALES, _FIRST_ATTRS) | set(_NICKNAMES.split()))


@lru_cache(maxsize=1)
def last_names() -> frozenset[str]:
    return frozenset(_provider_names(_DETECT_LOCALES, _LAST_ATTRS))


# faker's English providers whose data are ordinary words: lorem (about 2,000 frequent words by part of
# speech), job titles, company slogans.
_ENGLISH_PROVIDERS = ("lorem", "job", "company")


@lru_cache(maxsize=1)
def english_words() -> frozenset[str]:
    """Ordinary English words known here: the words of faker's English lorem, job and company data, the
    curated list above and calendar words (about 3,000).

    Used to tell a capitalised word that may be an unknown surname ("Lozano") from an ordinary word in
    a heading ("Energy"); ``is_english`` also knows their plain inflections ("Accounts", "Trading").
    """
    found = set(_COMMON.split()) | set(_CALENDAR.split())
    for name in _ENGLISH_PROVIDERS:
        try:
            provider = importlib.import_module(f"faker.providers.{name}.en_US").Provider
        except ImportError:
            continue
        for attr in dir(provider):
            value = getattr(provider, attr, None)
            if attr.startswith("_") or not isinstance(value, (list, tuple, dict)):
                continue
            items = list(value.items()) if isinstance(value, dict) else list(value)
            for item in items:
                parts = item if isinstance(item, tuple) else (item,)
                for part in parts:
                    texts = part if isinstance(part, (list, tuple)) else (part,)
                    found |= {w for w in _words(t for t in texts if isinstance(t, str)) if w.isalpha() and len(w) > 2}
    return frozenset(found)


def is_english(word: str) -> bool:
    """Whether a lower-cased word is a known English word or a plain inflection of one."""
    known = english_words()
    if word in known:
        return True
    for suffix, stems in _INFLECTIONS:
        if word.endswith(suffix) and len(word) > len(suffix) + 2:
            stem = word[: -len(suffix)]
            if any(stem + s in known for s in stems):
                return True
    return False


# suffix → what the stem may have ended with: "accounts" → "account", "trading" → "trade", "chairman"
# is no inflection (and is a job-title word anyway).
_INFLECTIONS = (
    ("ies", ("y",)),
    ("es", ("", "e")),
    ("s", ("",)),
    ("ied", ("y",)),
    ("ed", ("", "e")),
    ("ing", ("", "e")),
    ("ly", ("", "le")),
    ("er", ("", "e")),
    ("ers", ("", "e")),
    ("ment", ("",)),
    ("ness", ("",)),
    ("or", ("", "e")),
)


@lru_cache(maxsize=1)
def places() -> frozenset[str]:
    from faker.providers.address.en_US import Provider as Address

    # Single-word states and countries only: the words of "Saint Martin" or "Marshall Islands" are
    # names. "Jordan" and "Chad" are far more often people than countries in a CRM.
    single = {n.lower() for n in (*Address.states, *Address.countries) if _WORD.fullmatch(n)}
    return frozenset((single - {"jordan", "chad"}) | set(_PLACES.split()))


@lru_cache(maxsize=1)
def common_words() -> frozenset[str]:
    """Words that must not be taken for a name on their own, though the lists may hold them as names.

    Every ordinary word known here (``english_words``: the curated names-that-are-words, faker's English
    word lists, month and day names) and places. Only membership matters: a word that is no name is
    never looked up as one anyway. Context can still make one a name: "Hi Bill,", "Mr. Price",
    "Mark Taylor".
    """
    return frozenset(english_words() | places())


def _pool(names: set[str]) -> tuple[str, ...]:
    common = common_words()
    return tuple(sorted(w for w in names if w.isascii() and w.isalpha() and 3 <= len(w) <= 10 and w not in common))


@lru_cache(maxsize=3)
def fake_first_names(gender: str | None = None) -> tuple[str, ...]:
    """The pool a fake first name is drawn from: ``gender`` "female" or "male" for the names faker
    lists as such, None for all. Sorted, so the same key gives the same fake for as long as faker's
    lists stay the same (a faker release that changes them changes the fakes)."""
    attrs = _FIRST_ATTRS if gender is None else (f"first_names_{gender}",)
    return _pool(_provider_names(_FAKE_LOCALES, attrs))


@lru_cache(maxsize=2)
def gendered_first_names(gender: str) -> frozenset[str]:
    """First names some locale lists as ``gender`` ("female" or "male"), so a fake can keep it."""
    return frozenset(_provider_names(_DETECT_LOCALES, (f"first_names_{gender}",)))


@lru_cache(maxsize=1)
def fake_last_names() -> tuple[str, ...]:
    return _pool(_provider_names(_FAKE_LOCALES, _LAST_ATTRS))
