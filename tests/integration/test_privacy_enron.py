"""Privacy detection on real mail: recall on PII planted into real Enron bodies, and how much of the real
text it changes when nothing is planted.

Recall: 300 real bodies (seeded sample of the three mailboxes), each given one planted value of every
kind in a realistic carrier phrase ("call me at …", "IBAN …", "Thanks, …"), inserted between two of its
sentences. Names come from a CRM list passed to the detector and from the shipped name lists (not
passed). A planted value counts as found when a span of the right kind covers it; each kind must reach
99%.

Precision: the detector (names = the senders and recipients of the mailbox) over every real body;
real mail holds real names, numbers and addresses, so what changes is mostly true PII. The share of
whitespace tokens changed is printed and bounded, and ordinary words are never taken for names.

Run with -s to see the numbers.
"""

from __future__ import annotations

import collections
import json
import random
import re
import string
from pathlib import Path

import phonenumbers
import pytest
from stdnum import iban as stdnum_iban
from stdnum.es import dni
from stdnum.eu import vat

from doppel.privacy.detect import KINDS, Detector, changed_token_share, luhn_valid
from doppel.privacy.names import common_words, first_names, last_names

pytestmark = pytest.mark.realdata

MAILBOXES = ("rapp-b", "sanchez-m", "townsend-j")
OWN = {  # each mailbox's owner: never replaced (README of the shared data names them)
    "rapp-b": ["Bill Rapp", "Bill", "Rapp", "brapp@enron.com", "bill.rapp@enron.com"],
    "sanchez-m": ["Monique Sanchez", "Monique", "Sanchez", "monique.sanchez@enron.com"],
    "townsend-j": ["Judy Townsend", "Judy", "Townsend", "judy.townsend@enron.com"],
}
KEEP = ["Enron", "Dynegy"]
SAMPLE = 300
RECALL = 0.99
# Measured 4.96% on the three mailboxes (1,700 bodies, 377,244 tokens); most of it is true PII, because
# forwarded Enron mail is dense with recipient lists ("To: Watson, Kimberly; Lokey, Teb; ..."),
# signatures and phone lists. Hand checks of random distinct name spans (280 in all, while tuning)
# found about 5% that were no single person: places ("Beverly, Mass.", "Nova Scotia", "Alexander
# City"), firms named after people ("Baker & McKenzie", "Sara Lee"), "Oscar". The bound leaves room for
# the mailboxes, not for a detector that starts eating ordinary words, which the word check catches.
MAX_TOKEN_SHARE = 0.06
# High-frequency words that are also in the name lists or look like names at a sentence start: none
# may ever be a one-word name span in real text.
ORDINARY = """the this that will may can said per else line job lot summer please thanks best regards hope
love grant price power energy gas market long young green white brown rich king mark bill frank faith
rose may june august april monday friday houston dallas austin america""".split()


def _rows(shared_data: Path, mailbox: str) -> list[dict]:
    with (shared_data / "enron" / f"{mailbox}.jsonl").open() as f:
        return [json.loads(line) for line in f]


def mailbox_names(rows: list[dict]) -> set[str]:
    """Display names of the mailbox's senders and recipients, as a CRM would hold them."""
    names = set()
    for row in rows:
        for field in row["from"] + row["to"]:
            shown = re.split(r"[/@<]", field)[0].strip().strip("\"'")
            if "  " in shown:  # Exchange writes "Last  First"
                last, _, first = shown.partition("  ")
                shown = f"{first.strip()} {last.strip()}"
            if 1 <= len(re.findall(r"[^\W\d_]+", shown)) <= 4:
                names.add(shown)
    return names


# ------------------------------------------------------------------------------------------ the plants


class Plants:
    """Generated PII of every kind, each in a carrier phrase; the value's place in the phrase is marked."""

    def __init__(self, rnd: random.Random):
        self.rnd = rnd
        common = common_words()
        self.firsts = sorted(w for w in first_names() - common if w.isascii() and w.isalpha())
        own = {w.lower() for names in OWN.values() for w in names}  # the owner's own name is never replaced
        self.firsts = [w for w in self.firsts if w not in own]
        self.weak_firsts = sorted(w for w in first_names() & common if w.isascii() and w.isalpha() and w not in own)
        self.lasts = sorted(w for w in last_names() - common if w.isascii() and w.isalpha())
        self.crm = [self.person() for _ in range(200)]

    def person(self) -> str:
        return f"{self.rnd.choice(self.firsts).title()} {self.rnd.choice(self.lasts).title()}"

    def digits(self, n: int) -> str:
        return "".join(self.rnd.choice(string.digits) for _ in range(n))

    def make(self, kind: str) -> tuple[str, str]:
        """(carrier sentence with "{}" where the value goes, value)."""
        return getattr(self, kind)()

    def email(self):
        first, last = self.rnd.choice(self.firsts), self.rnd.choice(self.lasts)
        domain = self.rnd.choice(["gmail.com", "aol.com", "hotmail.com", "bakerbotts.com", "utilicorp.com"])
        local = self.rnd.choice([f"{first}.{last}", f"{first[0]}{last}", f"{first}_{last}{self.digits(2)}"])
        value = self.rnd.choice([local, local.title(), local.upper()]) + "@" + domain
        carriers = ["Send it to {}.", "My new address is {} from now on.", "Write to {} please.", "From: Ann <{}>"]
        carriers += ["(mailto:{})", "Email: {}; fax to follow"]
        return self.rnd.choice(carriers), value

    def phone(self):
        region = self.rnd.choice(["US", "US", "US", "GB", "DE", "FR", "CA", "AU"])
        example = phonenumbers.example_number(region)
        while True:
            nsn = str(example.national_number)
            candidate = phonenumbers.parse(f"+{example.country_code}{nsn[:2]}{self.digits(len(nsn) - 2)}")
            if phonenumbers.is_valid_number(candidate):
                break
        if region in ("US", "CA"):
            d = str(candidate.national_number)
            value = self.rnd.choice(
                [f"({d[:3]}) {d[3:6]}-{d[6:]}", f"{d[:3]}-{d[3:6]}-{d[6:]}", f"{d[:3]}.{d[3:6]}.{d[6:]}", f"+1 {d}"]
                + [f"{d[:3]} {d[3:6]} {d[6:]}", f"1-{d[:3]}-{d[3:6]}-{d[6:]}", f"{d[:3]}/{d[3:6]}-{d[6:]}", d]
                + [f"({d[:3]}){d[3:6]}-{d[6:]}", f"+1 ({d[:3]}) {d[3:6]}-{d[6:]}", f"{d[:3]}-{d[3:6]}-{d[6:]} ext. 12"]
            )
        else:
            value = phonenumbers.format_number(candidate, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
        carriers = ["Call me at {} after lunch.", "My cell is {}.", "Fax: {}", "Reach me on {} today.", "Ph {} (w)"]
        return self.rnd.choice(carriers), value

    def card(self):
        prefix, length = self.rnd.choice([("4", 16), ("51", 16), ("55", 16), ("37", 15), ("6011", 16)])
        body = prefix + self.digits(length - len(prefix) - 1)
        number = next(body + d for d in string.digits if luhn_valid(body + d))
        if length == 15:
            value = self.rnd.choice([number, f"{number[:4]} {number[4:10]} {number[10:]}"])
        else:
            sep = self.rnd.choice([" ", "-", ""])
            value = sep.join(number[k : k + 4] for k in range(0, 16, 4))
        return self.rnd.choice(["My card {} expires 05/03.", "Charge it to card number {}.", "Visa: {}"]), value

    def iban(self):
        template = self.rnd.choice(
            ["DE89370400440532013000", "GB82WEST12345698765432", "FR1420041010050500013M02606", "NL91ABNA0417164300"]
            + ["ES9121000418450200051332", "IT60X0542811101000000123456", "CH9300762011623852957", "BE68539007547034"]
        )
        while True:
            bban = "".join(self.rnd.choice(string.digits) if c.isdigit() else c for c in template[4:])
            number = template[:2] + "00" + bban
            check = 98 - int("".join(str(int(c, 36)) for c in bban + template[:2] + "00")) % 97
            number = f"{template[:2]}{check:02d}{bban}"
            if stdnum_iban.is_valid(number):
                break
        value = self.rnd.choice([number, " ".join(number[k : k + 4] for k in range(0, len(number), 4))])
        return self.rnd.choice(["Please wire it to IBAN {}.", "Our account: {} (Deutsche Bank)."]), value

    def national_id(self):
        while True:
            kind = self.rnd.choice(["vat", "dni"])
            value = f"DE{self.digits(9)}" if kind == "vat" else self.digits(8) + self.rnd.choice(string.ascii_uppercase)
            if (vat if kind == "vat" else dni).is_valid(value):
                break
        return self.rnd.choice(["Our VAT number is {}.", "ID: {} (please keep it safe)."]), value

    def ssn(self):
        area = self.rnd.choice([a for a in range(1, 900) if a != 666])
        value = f"{area:03d}-{self.rnd.randint(1, 99):02d}-{self.rnd.randint(1, 9999):04d}"
        return self.rnd.choice(["My SSN is {}.", "Social security: {}", "SSN {} for the form."]), value

    def ip(self):
        if self.rnd.random() < 0.8:
            # Loopback (127/8) is left alone by design: it names no machine.
            first = self.rnd.choice([octet for octet in range(1, 224) if octet != 127])
            value = f"{first}." + ".".join(str(self.rnd.randint(0, 255)) for _ in range(3))
        else:
            value = "2001:" + ":".join(f"{self.rnd.randint(1, 0xFFFF):x}" for _ in range(7))
        carriers = ["The server {} is down again.", "Connect to {} over VPN.", "Received: from mx ([{}])", "ip={}"]
        return self.rnd.choice(carriers), value

    def url_token(self):
        alphabet = string.ascii_letters + string.digits
        value = "".join(self.rnd.choice(alphabet) for _ in range(self.rnd.choice([16, 24, 32])))
        param = self.rnd.choice(["token", "access_token", "api_key", "sig", "session", "code"])
        url = self.rnd.choice(["https://portal.example.com/reset", "http://www.enrononline.com/login.asp"])
        carrier = self.rnd.choice(["Use {}?user=jdoe&{}={{}} to log in.", "<{}?{}={{}}>", "Link: {}?{}={{}}&lang=en"])
        return carrier.format(url, param), value

    def secret(self):
        alnum = string.ascii_letters + string.digits

        def rand(n: int, alphabet: str = alnum) -> str:
            return "".join(self.rnd.choice(alphabet) for _ in range(n))

        choices = [
            ("The key {} is in the config.", "AKIA" + rand(16, string.ascii_uppercase + string.digits)),
            ("Token {} for the bot.", "ghp_" + rand(36)),
            ("Slack: {}", "xoxb-" + self.digits(12) + "-" + rand(24)),
            ("Stripe key {} is live.", "sk_live_" + rand(24)),
            ("Maps key {} ok.", "AIza" + rand(35, alnum + "_-")),
            ("Bearer {}", "eyJ" + rand(20) + ".eyJ" + rand(30) + "." + rand(40)),
            ("Password: {}", rand(10, alnum + "!#$")),
            ("My password is {}.", rand(6, string.ascii_lowercase) + self.digits(2)),
            ("Your PIN is {}.", self.digits(4)),
            ("Your verification code: {}", self.digits(6)),
            ("OTP {} expires soon.", self.digits(6)),
            ("pwd: {}", rand(12)),
            ("Login: jdoe / password = {}", rand(9) + "7"),
            ("The door code is {}.", self.digits(5)),
            ("Your one-time code is {}", self.digits(6)),
        ]
        return self.rnd.choice(choices)

    def name(self):
        """A CRM name (passed to the detector) or a name from the shipped lists (not passed)."""
        if self.rnd.random() < 0.5:
            value = self.rnd.choice(self.crm)
            first, last = value.split()
            return self.rnd.choice(
                [
                    ("I spoke with {} yesterday.", value),
                    ("Thanks,\n{}", value),
                    ("{} will join the call.", value),
                    ("To: {}; Legal Group", f"{last}, {first}"),
                    ("Ask {} about it.", first),
                    ("{}'s team is on it.", value),
                    ("Please call {} back.", value.lower()),
                ]
            )
        first, last = self.rnd.choice(self.firsts).title(), self.rnd.choice(self.lasts).title()
        weak = self.rnd.choice(self.weak_firsts).title()
        return self.rnd.choice(
            [
                ("Thanks, {}.", f"{first} {last}"),
                ("I spoke with {} yesterday.", f"{first} {last}"),
                ("Please ask {} to call me.", first),
                ("Dear Mr. {},", last),
                ("Hi {},", weak),
                ("Regards,\n{}", f"{weak} {last}"),
                ("cc: {}", f"{first} {last}"),
                ("{} wrote:", f"{last}, {first}"),
                ("BY {}", f"{first} {last}".upper()),
                ("Let {} know by Friday.", f"{first} {last}"),
                ("Hello {}!", first),
            ]
        )


def plant(
    body: str, plants: list[tuple[str, str, str]], rnd: random.Random, *, own_line: bool = False
) -> tuple[str, list[tuple[int, int, str]]]:
    """``body`` with each (kind, carrier, value) inserted between two sentences; where each value landed."""
    cuts = sorted({0, len(body)} | {m.end() for m in re.finditer(r"(?<=[.!?\n])\s+", body)})
    at = sorted(rnd.choice(cuts) for _ in plants)
    pieces: list[str] = []
    truth: list[tuple[int, int, str]] = []
    pos = 0
    length = 0
    for cut, (kind, carrier, value) in zip(at, plants):
        pieces.append(body[pos:cut])
        length += cut - pos
        pos = cut
        before, after = carrier.split("{}")
        # On a line of its own, or run into the paragraph (but not glued to a last line that has no stop).
        edge = rnd.choice(["\n", " "]) if 0 < cut < len(body) and not own_line else "\n"
        sentence = f"{edge}{before}{value}{after}{edge}"
        start = length + 1 + len(before)
        truth.append((start, start + len(value), kind))
        pieces.append(sentence)
        length += len(sentence)
    pieces.append(body[pos:])
    return "".join(pieces), truth


# ---------------------------------------------------------------------------------------------- tests


def test_recall_on_planted_pii_is_at_least_99_percent_per_kind(shared_data, seed=20011121):
    rnd = random.Random(seed)
    bodies = [(mb, r["body"]) for mb in MAILBOXES for r in _rows(shared_data, mb) if r["body"].strip()]
    sample = rnd.sample(bodies, SAMPLE)
    plants = Plants(rnd)
    detectors = {mb: Detector(names=plants.crm, keep=KEEP, own_names=OWN[mb]) for mb in MAILBOXES}
    hits: collections.Counter = collections.Counter()
    totals: collections.Counter = collections.Counter()
    missed: dict[str, list[str]] = collections.defaultdict(list)
    for mailbox, body in sample:
        made = [(kind, *plants.make(kind)) for kind in KINDS]
        text, truth = plant(body, made, rnd)
        spans = detectors[mailbox].find(text)
        for start, end, kind in truth:
            totals[kind] += 1
            if any(s.kind == kind and s.start <= start and s.end >= end for s in spans):
                hits[kind] += 1
            else:
                missed[kind].append(repr(text[max(0, start - 30) : end + 20]))
    print(f"\nrecall on {SAMPLE} real Enron bodies, one planted value of each kind per body:")
    for kind in KINDS:
        print(f"  {kind:12} {hits[kind]:4d}/{totals[kind]:<4d} {hits[kind] / totals[kind]:.3f}")
        for example in missed[kind][:3]:
            print(f"      missed: {example}")
    low = {k: hits[k] / totals[k] for k in KINDS if hits[k] / totals[k] < RECALL}
    assert not low, f"recall under {RECALL}: {low}; missed e.g. {[missed[k][:2] for k in low]}"


def test_names_no_list_holds_are_found_only_with_context(shared_data):
    """Not a gate, a measurement to quote: invented names (in no list, not in the CRM) by carrier. Context
    finds them ("Hi …", "Mr. …", after a known first name); on their own nothing can."""
    rnd = random.Random(7)
    bodies = [r["body"] for mb in MAILBOXES for r in _rows(shared_data, mb) if r["body"].strip()]
    known = sorted(w.title() for w in first_names() - common_words() if w.isascii() and w.isalpha())
    carriers = {
        "Hi {first},": "first",
        "Dear Mr. {last},": "last",
        "I spoke with {known} {last} yesterday.": "known last",
        "Thanks,\n{first} {last}": "first last",
        "I spoke with {first} {last} yesterday.": "first last",
    }
    detector = Detector(keep=KEEP)
    print("\ninvented names (no list holds them), 100 plants per carrier:")
    for carrier, part in carriers.items():
        hits = 0
        for _ in range(100):
            first, last = _invented(rnd), _invented(rnd)
            sentence = carrier.format(first=first, last=last, known=rnd.choice(known))
            value = {"first": first, "last": last, "known last": sentence.split()[-2], "first last": f"{first} {last}"}
            value = value[part] if part != "known last" else f"{sentence.split()[3]} {last}"
            planted = [("name", sentence.replace(value, "{}", 1), value)]
            text, truth = plant(rnd.choice(bodies), planted, rnd, own_line=True)  # a signature ends its line
            start, end, _ = truth[0]
            hits += any(s.kind == "name" and s.start <= start and s.end >= end for s in detector.find(text))
        print(f"  {carrier!r:45} {hits}/100")


def _invented(rnd: random.Random) -> str:
    """A pronounceable word that is in no name list and no word list: "Tavorin", "Quelmar"."""
    common, names = common_words(), first_names() | last_names()
    while True:
        word = "".join(rnd.choice(a) for a in ["bdgklmnprstvz", "aeiou", "lnrv", "aeio", "dmnrst"][: rnd.randint(3, 5)])
        word = rnd.choice("BDGKLMNPRSTVZ") + word
        if word.lower() not in names and word.lower() not in common:
            return word.title()


def test_real_text_changes_little_and_ordinary_words_are_never_names(shared_data):
    changed = total = 0
    per_kind: collections.Counter = collections.Counter()
    bad: list[str] = []
    print("\nreal text, nothing planted (names = the mailbox's senders and recipients):")
    for mailbox in MAILBOXES:
        rows = _rows(shared_data, mailbox)
        detector = Detector(names=mailbox_names(rows), keep=KEEP, own_names=OWN[mailbox])
        box_changed = box_total = 0
        for row in rows:
            spans = detector.find(row["body"])
            c, t = changed_token_share(row["body"], spans)
            box_changed, box_total = box_changed + c, box_total + t
            per_kind.update(s.kind for s in spans)
            bad += [s.value for s in spans if s.kind == "name" and s.value.lower() in ORDINARY]
        share = f"{box_changed}/{box_total} tokens changed ({box_changed / box_total:.2%})"
        print(f"  {mailbox:11} {len(rows):4d} bodies: {share}")
        changed, total = changed + box_changed, total + box_total
    print(f"  all          {changed}/{total} tokens changed ({changed / total:.2%}); spans per kind: {dict(per_kind)}")
    assert changed / total < MAX_TOKEN_SHARE
    assert not bad, f"ordinary words taken for names: {collections.Counter(bad).most_common(10)}"
