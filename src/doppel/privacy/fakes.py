"""Consistent fakes: each real value is replaced by a fake of the same kind and shape, the same one
every time the same twin key meets it, and nothing is stored to map a fake back.

A fake is a pure function of (key, kind, normalised value): HMAC-SHA256 keyed by the twin's secret
seeds every choice, so "Peggy Mahoney" in March and in May, in a body and in a recipient field,
becomes the same fake person, while someone without the key cannot tell who a fake stands for (nor
recompute a fake from a guessed real value). No table of real → fake is kept, in memory or on disk.

Shapes are kept so the data still reads as the person wrote it: a first name becomes a first name
(of the same gender where faker's lists say which), capitalisation and punctuation stay, an email
built from a name becomes one built from the fake name, cards stay Luhn-valid, IBANs and national
ids stay checksum-valid, phone numbers keep their layout and country.

Names are faked word by word (first names from first names, surnames from surnames), so "Peggy",
"Peggy Mahoney", "Mahoney, Peggy", "Ms. Mahoney" and "peggy.mahoney@x.com" all agree. The cost is
that two real people who share a first name share its fake, as they shared the real one.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import string
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache

import phonenumbers
from stdnum import iban as stdnum_iban

from doppel.privacy.detect import KINDS, Span, luhn_valid, national_id_shape
from doppel.privacy.names import (
    fake_first_names,
    fake_last_names,
    first_names,
    gendered_first_names,
    last_names,
)

_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")
_EMAIL_PART = re.compile(r"([._-])")
# Webmail domains say nothing about who someone is; a fake keeps them (and stays realistic).
_FREE_MAIL = frozenset(
    "gmail.com googlemail.com yahoo.com hotmail.com outlook.com live.com msn.com aol.com icloud.com me.com "
    "mail.com gmx.com gmx.de gmx.net web.de proton.me protonmail.com yahoo.co.uk hotmail.co.uk".split()
)
_SECOND_LEVEL = frozenset({"co", "com", "org", "net", "ac", "gov", "edu", "ltd", "plc"})
# Prefixes that say what a secret is (kept: the fake is still recognisably an AWS key, a GitHub token).
_SECRET_PREFIXES = ("github_pat_", "sk_live_", "sk_test_", "pk_live_", "pk_test_", "rk_live_", "rk_test_", "AKIA")
_SECRET_PREFIXES += ("ASIA", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "xoxb-", "xoxp-", "xoxa-", "xoxs-", "xoxo-")
_SECRET_PREFIXES += ("xoxr-", "AIza", "eyJ")
# Documentation ranges (RFC 5737, RFC 3849): a fake address can never be a real host.
_IPV4_DOC_NETS = ("192.0.2.", "198.51.100.", "203.0.113.")
_HEX = frozenset(string.hexdigits)
_TRIES = 16  # draws before a fake that happens to equal the real value is given up on (1 in 10 at worst)
_SUFFIXES = frozenset({"jr", "sr", "ii", "iii", "iv", "phd", "md", "esq"})


class _Draw:
    """A deterministic stream of numbers from HMAC-SHA256(key, label ‖ counter).

    Not ``random.Random(seed)``: its draws may change between Python versions, and fakes must not.
    """

    def __init__(self, key: bytes, label: str):
        self._key = key
        self._label = label.encode("utf-8", "surrogatepass")
        self._pool = b""
        self._counter = 0

    def below(self, n: int) -> int:
        if len(self._pool) < 8:
            block = hmac.new(self._key, self._label + b"\x00" + self._counter.to_bytes(4, "big"), hashlib.sha256)
            self._pool += block.digest()
            self._counter += 1
        value, self._pool = int.from_bytes(self._pool[:8], "big"), self._pool[8:]
        return value % n  # 64 bits reduced mod a small n: the bias is below 1e-15

    def choice(self, options: Sequence[str]) -> str:
        return options[self.below(len(options))]

    def digits(self, count: int) -> str:
        return "".join(str(self.below(10)) for _ in range(count))


class Fakes:
    """Fakes for one twin key. ``keep``: words never faked inside a value (the company's domain in an
    address stays "enron.com" when "Enron" is kept), the same list the detector keeps."""

    def __init__(self, key: bytes, *, keep: Iterable[str] = ()):
        if not key:
            raise ValueError("a privacy key is needed")
        self._key = bytes(key)
        self._keep = frozenset(k.strip().lower() for k in keep if k and k.strip())
        self._by_kind: dict[str, Callable[[str], str]] = {
            "email": self._email,
            "phone": self._phone,
            "card": self._card,
            "iban": self._iban,
            "national_id": self._national_id,
            "ssn": self._ssn,
            "ip": self._ip,
            "url_token": self._token,
            "secret": self._secret,
            "name": self._name,
        }
        assert set(self._by_kind) == set(KINDS)

    def fake(self, kind: str, value: str) -> str:
        try:
            make = self._by_kind[kind]
        except KeyError:
            raise ValueError(f"unknown kind {kind!r}; known: {', '.join(KINDS)}") from None
        try:
            return make(value)
        except (ValueError, IndexError, phonenumbers.NumberParseException):
            # Not a value of its kind after all ("ip" of "999.1.1.1"): still never left in the clear,
            # it gets a random string of its shape.
            return _reshape(value, self._draw(kind, value))

    def rewrite(self, text: str, spans: Sequence[Span]) -> str:
        out: list[str] = []
        pos = 0
        for span in sorted(spans, key=lambda s: s.start):
            if span.start < pos:  # overlapping spans: the detector never makes them; the first one wins
                continue
            out.append(text[pos : span.start])
            out.append(self.fake(span.kind, text[span.start : span.end]))
            pos = span.end
        out.append(text[pos:])
        return "".join(out)

    def _draw(self, kind: str, normalised: str) -> _Draw:
        return _Draw(self._key, f"{kind}\x00{normalised}")

    # ------------------------------------------------------------------------------------------- names

    def _name(self, value: str) -> str:
        words = list(_WORD.finditer(value))
        full = [m for m in words if len(m.group()) > 1 and m.group().lower() not in _SUFFIXES]
        roles = _name_roles([m.group().lower() for m in full], reversed_order="," in value)
        role_of = {m.start(): r for m, r in zip(full, roles)}
        out, pos = [], 0
        for m in words:
            word = m.group()
            out.append(value[pos : m.start()])
            if word.lower() in _SUFFIXES:  # "Jr", "III": says nothing about who
                out.append(word)
            elif len(word) == 1:  # an initial: a letter drawn from the whole name, so it stays the same
                letter = self._draw("initial", " ".join(w.group().lower() for w in full) + word.lower())
                out.append(_like(word, string.ascii_uppercase[letter.below(26)]))
            else:
                out.append(_like(word, self.name_word(word.lower(), role_of[m.start()])))
            pos = m.end()
        out.append(value[pos:])
        return "".join(out)

    def name_word(self, word: str, role: str) -> str:
        """The fake of one lower-cased name word as a "first" or "last" name (lower-cased)."""
        if role == "first":
            gender = _gender(word)
            pool = fake_first_names(gender)
        else:
            pool = fake_last_names()
        draw = self._draw(f"name-{role}", word)
        fake = draw.choice(pool)
        for _ in range(_TRIES):
            if fake != word:
                break
            fake = draw.choice(pool)
        return fake

    # ------------------------------------------------------------------------------------------ emails

    def _email(self, value: str) -> str:
        address = value.strip().lower()
        local, _, domain = address.rpartition("@")
        base, plus, tag = local.partition("+")
        return f"{self._email_local(base)}{plus}{tag}@{self._domain(domain)}"

    def _email_local(self, local: str) -> str:
        pieces = _EMAIL_PART.split(local)
        words = pieces[::2]
        known = first_names() | last_names()
        if 2 <= len(words) <= 3 and all(w.isalpha() for w in words) and any(w in known for w in words):
            # "peggy.mahoney", "p.mahoney", "peggy_a_mahoney": the fake of the name, in the same layout.
            roles = _name_roles([w for w in words if len(w) > 1], reversed_order=False)
            role_iter = iter(roles)
            faked = []
            for w in words:
                if len(w) == 1:
                    faked.append(self._draw("initial-email", local).choice(string.ascii_lowercase))
                else:
                    faked.append(self.name_word(w, next(role_iter)))
            pieces[::2] = faked
            return "".join(pieces)
        if local.isalpha() and len(local) > 3:
            if local in first_names():
                return self.name_word(local, "first")
            if local in last_names():
                return self.name_word(local, "last")
            if local[1:] in last_names():  # "pmahoney": initial + surname
                initial = self._draw("initial-email", local).choice(string.ascii_lowercase)
                return initial + self.name_word(local[1:], "last")
        return _reshape(local, self._draw("email-local", local))

    def _domain(self, domain: str) -> str:
        labels = domain.split(".")
        if domain in _FREE_MAIL or domain in self._keep or any(label in self._keep for label in labels):
            return domain
        # The registrable label ("enron" in "ect.enron.com", "acme" in "acme.co.uk") is the one that
        # says who; subdomains and the public suffix stay.
        suffix = 2 if len(labels) >= 3 and labels[-2] in _SECOND_LEVEL and len(labels[-1]) == 2 else 1
        if len(labels) <= suffix:
            return domain
        k = len(labels) - suffix - 1
        draw = self._draw("domain", ".".join(labels[k:]))
        fake = draw.choice(fake_last_names())
        for _ in range(_TRIES):
            if fake != labels[k]:
                break
            fake = draw.choice(fake_last_names())
        labels[k] = fake
        return ".".join(labels)

    # ------------------------------------------------------------------------------------------ phones

    def _phone(self, value: str) -> str:
        try:
            number = phonenumbers.parse(value, "US")
        except phonenumbers.NumberParseException:
            number = None
        if number is None or not phonenumbers.is_possible_number(number):
            # A local number with no area code ("853-6384"): the fictional 555-01xx block, in its layout.
            digits = re.sub(r"\D", "", value)
            draw = self._draw("phone", digits)
            fake = ("55501" + draw.digits(2)) if len(digits) == 7 else _fresh_digits(digits, draw)
            return _put_digits(value, fake)
        national = phonenumbers.national_significant_number(number)
        normalised = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        normalised += f";ext={number.extension}" if number.extension else ""
        draw = self._draw("phone", normalised)
        fake_national = _fake_national(number, national, draw)
        digits = re.sub(r"\D", "", value)
        at = digits.find(national)
        if at < 0:
            return _put_digits(value, _fresh_digits(digits, draw))
        new = digits[:at] + fake_national + digits[at + len(national) :]
        if number.extension and new.endswith(number.extension):
            ext = number.extension
            new = new[: -len(ext)] + _fresh_digits(ext, draw)
        return _put_digits(value, new)

    # ---------------------------------------------------------------------------------- numbers and ids

    def _card(self, value: str) -> str:
        digits = re.sub(r"\D", "", value)
        draw = self._draw("card", digits)
        keep = 2 if digits[0] == "3" else 1  # the network: 4 Visa, 5 Mastercard, 34/37 Amex, 6 Discover
        fake = digits
        for _ in range(_TRIES):
            body = digits[:keep] + draw.digits(len(digits) - keep - 1)
            fake = body + _luhn_digit(body)
            if fake != digits:
                break
        return _put_digits(value, fake)

    def _iban(self, value: str) -> str:
        compact = re.sub(r"\s", "", value).upper()
        country, bban = compact[:2], compact[4:]
        draw = self._draw("iban", compact)
        fake = compact
        for _ in range(200):  # national checks (Belgium, Spain ...) accept ~1 draw in 10 to 100
            fake_bban = _reshape(bban, draw)
            fake = country + _iban_check(country, fake_bban) + fake_bban
            if fake != compact and stdnum_iban.is_valid(fake):
                break
        return _put_alnum(value, fake)

    def _national_id(self, value: str) -> str:
        compact = re.sub(r"[\s.\-]", "", value).upper()
        shape = national_id_shape(value) or national_id_shape(compact)
        check, prefix = shape if shape else (None, 0)  # what says the kind of number ("DE", "X") is kept
        draw = self._draw("national_id", compact)
        fake = compact
        for _ in range(40):
            fake = compact[:prefix] + _reshape(compact[prefix:], draw, letters=prefix < 2)
            if check is None:
                break
            # Check characters sit at the end (most), after the prefix (French VAT) or before a suffix
            # (Dutch VAT): give each position every value of its class until the check passes.
            fitted = _fit_check(fake, prefix, lambda candidate: check(_put_alnum(value, candidate)))
            if fitted is not None and fitted != compact:
                return _put_alnum(value, fitted)
        return _put_alnum(value, fake)

    def _ssn(self, value: str) -> str:
        """Area 773-899: never assigned before the SSA randomised numbers in June 2011 (773-899 were
        beyond every state's range), so a fake cannot be the SSN of anyone in mail older than that. No
        shape is safe for newer numbers (any area but 000, 666 and 9xx can now be issued), and 000,
        666 and 9xx would read as invalid: a fake should still look like an SSN. Groups 01-99 and
        serials 0001-9999 keep it valid-looking."""
        digits = re.sub(r"\D", "", value)
        draw = self._draw("ssn", digits)
        area = 773 + draw.below(127)
        fake = f"{area:03d}{1 + draw.below(99):02d}{1 + draw.below(9999):04d}"
        return _put_digits(value, fake)

    def _ip(self, value: str) -> str:
        address = ipaddress.ip_address(value)
        draw = self._draw("ip", address.exploded)
        if address.version == 4:
            return f"{draw.choice(_IPV4_DOC_NETS)}{1 + draw.below(254)}"
        groups = [f"{draw.below(0x10000):x}" for _ in range(6)]
        fake = str(ipaddress.IPv6Address(f"2001:db8:{':'.join(groups)}"))
        return fake.upper() if value.isupper() else fake

    # ---------------------------------------------------------------------------------------- secrets

    def _token(self, value: str) -> str:
        return _reshape(value, self._draw("url_token", value), token=True)

    def _secret(self, value: str) -> str:
        draw = self._draw("secret", value)
        prefix = next((p for p in _SECRET_PREFIXES if value.startswith(p)), "")
        if prefix == "eyJ":  # a JWT: keep each part's "eyJ" (base64 of '{"'), the mark of one
            return ".".join(
                p[:3] + _reshape(p[3:], draw, token=True) if p.startswith("eyJ") else _reshape(p, draw, token=True)
                for p in value.split(".")
            )
        fake = value
        for _ in range(_TRIES):  # a value with no letter or digit has nothing to change
            fake = prefix + _reshape(value[len(prefix) :], draw, token=True)
            if fake != value:
                break
        return fake


# -------------------------------------------------------------------------------------------- helpers


def _gender(first: str) -> str | None:
    female, male = first in gendered_first_names("female"), first in gendered_first_names("male")
    return "female" if female and not male else "male" if male and not female else None


def _name_roles(words: list[str], *, reversed_order: bool) -> list[str]:
    """ "first" or "last" for each (lower-cased, initials removed) word of a name.

    By position ("First Middle Last", or "Last, First Middle" when written with a comma); a lone word
    is a first name when the lists know it as one, else a surname ("Mahoney", from "Ms. Mahoney").
    Two words written surname first without a comma ("Mahoney Peggy", as mail systems show senders)
    are recognised by the lists, so they get the same fakes as "Peggy Mahoney".
    """
    if not words:
        return []
    if len(words) == 1:
        return ["first" if words[0] in first_names() else "last"]
    if reversed_order:
        return ["last"] + ["first"] * (len(words) - 1)
    if len(words) == 2:
        a, b = words
        first, last = first_names(), last_names()
        if a in last and a not in first and b in first and b not in last:
            return ["last", "first"]
    return ["first"] * (len(words) - 1) + ["last"]


def _like(original: str, fake: str) -> str:
    """``fake`` in the capitalisation of ``original``: PEGGY → LAURA, peggy → laura, Peggy → Laura."""
    if original.isupper() and len(original) > 1:
        return fake.upper()
    if original.islower():
        return fake.lower()
    return "-".join(part[:1].upper() + part[1:].lower() for part in fake.split("-"))


def _reshape(value: str, draw: _Draw, *, token: bool = False, letters: bool = True) -> str:
    """Same length and character classes: a digit for a digit, a letter of the same case for a letter;
    punctuation stays. ``token``: a value made only of hex digits stays hex, and "%2F" in a URL stays.
    ``letters=False`` keeps the letters (those of a VAT number are part of its format: "NL…B01")."""
    hex_only = token and bool(value) and all(c in _HEX for c in value) and any(c.isalpha() for c in value)
    percent = token
    hex_lower, hex_upper = "0123456789abcdef", "0123456789ABCDEF"
    out: list[str] = []
    skip = 0
    for k, c in enumerate(value):
        if skip:
            out.append(c)
            skip -= 1
        elif percent and c == "%" and all(ch in _HEX for ch in value[k + 1 : k + 3]) and k + 2 < len(value):
            out.append(c)
            skip = 2
        elif hex_only and c in _HEX:
            out.append(draw.choice(hex_upper if c.isupper() else hex_lower))
        elif c.isdigit():
            out.append(str(draw.below(10)))
        elif c.isascii() and c.isalpha() and letters:
            out.append(draw.choice(string.ascii_uppercase if c.isupper() else string.ascii_lowercase))
        else:
            out.append(c)
    return "".join(out)


def _fresh_digits(digits: str, draw: _Draw) -> str:
    fake = draw.digits(len(digits))
    for _ in range(_TRIES):
        if fake != digits or not digits:
            break
        fake = draw.digits(len(digits))
    return fake


def _put_digits(template: str, digits: str) -> str:
    """``digits`` written into the digit positions of ``template`` (spaces, dashes, brackets stay)."""
    it = iter(digits)
    return "".join(next(it, c) if c.isdigit() else c for c in template)


def _put_alnum(template: str, chars: str) -> str:
    it = iter(chars)
    return "".join(next(it, c) if c.isalnum() else c for c in template)


def _fit_check(candidate: str, start: int, check: Callable[[str], bool]) -> str | None:
    """``candidate`` with one character from ``start`` on changed (last positions first) so ``check``
    passes; None if no single change does."""
    if check(candidate):
        return candidate
    for k in range(len(candidate) - 1, start - 1, -1):
        c = candidate[k]
        alphabet = string.digits if c.isdigit() else string.ascii_uppercase if c.isalpha() else ""
        for ch in alphabet:
            tried = candidate[:k] + ch + candidate[k + 1 :]
            if check(tried):
                return tried
    return None


def _luhn_digit(body: str) -> str:
    for d in "0123456789":
        if luhn_valid(body + d):
            return d
    raise AssertionError("unreachable: one digit always completes a Luhn sum")


def _iban_check(country: str, bban: str) -> str:
    """The two check digits of an IBAN (ISO 13616: mod 97 of BBAN + country + "00", letters as 10-35)."""
    rearranged = bban + country + "00"
    number = int("".join(str(int(c, 36)) for c in rearranged))
    return f"{98 - number % 97:02d}"


@lru_cache(maxsize=4)
def _nanp_area_codes(region: str) -> tuple[str, ...]:
    """Area codes of a North American region (US, CA ...) whose 555-01xx numbers phonenumbers accepts."""
    codes = []
    for area in range(201, 990):
        number = phonenumbers.parse(f"+1{area}5550123")
        if phonenumbers.is_valid_number(number) and phonenumbers.region_code_for_number(number) == region:
            codes.append(str(area))
    return tuple(codes)


def _fake_national(number: phonenumbers.PhoneNumber, national: str, draw: _Draw) -> str:
    """A national number of the same country and length: for North America an area code of the same
    region and the 555-01xx block set aside for fiction; elsewhere the first digit (which says mobile
    or fixed line in most plans) kept and the rest drawn until the number is valid."""
    if number.country_code == 1 and len(national) == 7:  # a local number, no area code
        return "55501" + draw.digits(2)
    if number.country_code == 1 and len(national) == 10:
        region = phonenumbers.region_code_for_number(number) or "US"
        codes = _nanp_area_codes(region) or _nanp_area_codes("US")
        return draw.choice(codes) + "55501" + draw.digits(2)
    fake = national
    for _ in range(50):
        fake = national[:1] + draw.digits(len(national) - 1)
        candidate = phonenumbers.parse(f"+{number.country_code}{fake}")
        if fake != national and phonenumbers.is_valid_number(candidate):
            return fake
    return fake
