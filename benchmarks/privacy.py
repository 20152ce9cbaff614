"""Privacy detection throughput: doppel's Detector against two named baselines, on 100,000 emails.

    python benchmarks/privacy.py [--records 100000] [--slice 20000] [--repeats 5] [--crm-names 5000]
    python benchmarks/privacy.py --records 2000 --slice 1000 --repeats 2    # quick check that it runs
    python benchmarks/privacy.py --enron ../shared/data/enron               # real bodies instead

The emails are synthetic and built to look like business mail of about 1 KB: a greeting, sentences
from a bank of ordinary business prose, a few values to find (names, a phone number, an address,
sometimes a card, an IBAN, a password or a link with a token) and a signature block. They are
generated from a fixed seed, so every run measures the same text. With ``--enron FOLDER`` the corpus
is instead the real bodies of the *.jsonl mailboxes there, repeated to ``--records`` with their
paragraphs rotated in each copy (real mail has more digits, dates and amounts than the synthetic kind:
the digit-run prefilter matters more there).

Sides (one core each, sequential):
- baseline "regex-only": one pass of a plain email pattern and a plain US phone pattern, the cheapest
  thing that can call itself PII detection; it finds two kinds and no names.
- baseline "phonenumbers on every text": the email pattern plus ``phonenumbers.PhoneNumberMatcher``
  over each whole text, with no prefilter: the naive way to get real phone parsing.
- doppel, emails and phones only: ``Detector(kinds=["email", "phone"])``, the same two kinds as the
  baselines: what the digit-run prefilter in front of phonenumbers buys.
- doppel: ``Detector.find`` with every kind on and ``--crm-names`` CRM names, as a training run builds it.

Each timed repeat processes one slice of ``--slice`` records; repeat ``i`` takes slice ``i`` of the
corpus (5 × 20,000 = all 100,000), so every side does the same work in the same repeat and no side meets a
text twice within a run. Warm-ups use 500 records outside the corpus. Order alternates or rotates every
repeat (benchmarks/timing.py). Construction of the Detector is timed once and printed apart.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import string
import time
from pathlib import Path

import phonenumbers
from timing import Metric, add_arguments, compare, median, report

from doppel.privacy.detect import Detector
from doppel.privacy.names import common_words, first_names, last_names

SEED = 20011121
WARMUP_RECORDS = 500

_PROSE = [
    "I have attached the revised schedule for the pipeline expansion project.",
    "Please review the draft agreement and let me know if you have any comments by Friday.",
    "We are still waiting on the final numbers from the accounting group.",
    "The meeting has been moved to Thursday at 2:00 pm in conference room 3C.",
    "Volumes on the west side were lower than expected because of the cold weather.",
    "Can you confirm that the invoice for October was paid in full?",
    "Legal has signed off on the confidentiality agreement, so we can send it out today.",
    "The customer asked whether we could extend the term by another twelve months.",
    "Let's plan to discuss the open items on the call tomorrow morning.",
    "I spoke with the trading desk and they are fine with the proposed price of $3.45.",
    "There will be a system outage this weekend from 10:00 pm Saturday to 6:00 am Sunday.",
    "Our records show 1,250 MMBtu per day for the month of November.",
    "The board will review the budget at its next meeting on December 4.",
    "Thanks for putting this together so quickly; it looks good to me.",
    "We need to file the response with the commission before the deadline.",
    "Attached is the credit watch listing for the week of 10/15/01.",
    "May I suggest that we wait until the new rates are published?",
    "Will you be able to attend the training session next week?",
    "The contract number is 96012345 and the deal ticket is 1234567.",
    "Mark the calendar for the holiday party on the 14th.",
]
_PII = [
    "You can reach {first} at {phone} or {email}.",
    "My card {card} was charged twice.",
    "Please wire the deposit to IBAN {iban}.",
    "The temporary password: {password}",
    "Reset it at https://portal.example.com/reset?user=jdoe&token={token} before noon.",
    "I spoke with {first} {last} about the capacity release yesterday.",
    "{first} {last} will join the call from the Houston office.",
    "The test server is at 10.{n1}.{n2}.{n3} if you need it.",
]


def _luhn(body: str) -> str:
    for d in string.digits:
        total = 0
        for k, ch in enumerate(reversed(body + d)):
            v = int(ch) * (2 if k % 2 else 1)
            total += v - 9 if v > 9 else v
        if total % 10 == 0:
            return body + d
    raise AssertionError("unreachable")


def make_emails(count: int, seed: int) -> list[str]:
    rnd = random.Random(seed)
    common = common_words()
    firsts = sorted(w.title() for w in first_names() - common if w.isascii() and w.isalpha())
    lasts = sorted(w.title() for w in last_names() - common if w.isascii() and w.isalpha())
    emails = []
    for _ in range(count):
        first, last = rnd.choice(firsts), rnd.choice(lasts)
        me, my_last = rnd.choice(firsts), rnd.choice(lasts)
        values = {
            "first": first,
            "last": last,
            "phone": f"({rnd.randint(201, 989)}) {rnd.randint(200, 999)}-{rnd.randint(0, 9999):04d}",
            "email": f"{first.lower()}.{last.lower()}@example.com",
            "card": " ".join(re.findall(".{4}", _luhn("4" + "".join(rnd.choices(string.digits, k=14))))),
            "iban": "DE89 3704 0044 0532 0130 00",
            "password": "".join(rnd.choices(string.ascii_letters + string.digits, k=10)),
            "token": "".join(rnd.choices(string.ascii_letters + string.digits, k=32)),
            "n1": rnd.randint(0, 255),
            "n2": rnd.randint(0, 255),
            "n3": rnd.randint(1, 254),
        }
        body = rnd.sample(_PROSE, 12) + [rnd.choice(_PII).format(**values) for _ in range(2)]
        rnd.shuffle(body)
        lines = [f"Hi {first},", "", " ".join(body[:7]), "", " ".join(body[7:]), "", "Thanks,", f"{me} {my_last}"]
        lines.append(f"Direct: {rnd.randint(201, 989)}.{rnd.randint(200, 999)}.{rnd.randint(0, 9999):04d}")
        emails.append("\n".join(lines))
    return emails


def enron_emails(folder: Path, count: int) -> list[str]:
    bodies = [json.loads(line)["body"] for path in sorted(folder.glob("*.jsonl")) for line in path.open()]
    bodies = [b for b in bodies if b.strip()]
    if not bodies:
        raise SystemExit(f"no bodies in {folder}/*.jsonl")
    emails = []
    for k in range(count):
        paragraphs = bodies[k % len(bodies)].split("\n\n")
        turn = (k // len(bodies)) % len(paragraphs)
        emails.append("\n\n".join(paragraphs[turn:] + paragraphs[:turn]))
    return emails


_PLAIN_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PLAIN_PHONE = re.compile(r"(?:\+?1[ .-]?)?\(?\d{3}\)?[ .-]?\d{3}[ .-]?\d{4}")


def regex_only(texts: list[str]) -> int:
    return sum(len(_PLAIN_EMAIL.findall(t)) + len(_PLAIN_PHONE.findall(t)) for t in texts)


def phonenumbers_everywhere(texts: list[str]) -> int:
    found = 0
    for t in texts:
        found += len(_PLAIN_EMAIL.findall(t))
        found += sum(1 for _ in phonenumbers.PhoneNumberMatcher(t, "US", leniency=phonenumbers.Leniency.VALID))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=100_000, help="Emails in the corpus")
    parser.add_argument("--slice", type=int, default=20_000, help="Emails per timed repeat")
    parser.add_argument("--crm-names", type=int, default=5_000, help="CRM names the Detector is built with")
    parser.add_argument("--enron", type=Path, help="A folder of Enron *.jsonl mailboxes to use instead")
    add_arguments(parser)
    args = parser.parse_args()
    if args.slice > args.records:
        raise SystemExit("--slice must not exceed --records")

    start = time.perf_counter()
    if args.enron:
        corpus, warm = enron_emails(args.enron, args.records), make_emails(WARMUP_RECORDS, SEED + 1)
    else:
        corpus, warm = make_emails(args.records, SEED), make_emails(WARMUP_RECORDS, SEED + 1)
    slices = [corpus[k : k + args.slice] for k in range(0, args.records - args.slice + 1, args.slice)]
    mean_chars = sum(map(len, corpus)) / len(corpus)
    print(f"{len(corpus)} emails, {mean_chars:.0f} characters on average, made in {time.perf_counter() - start:.1f} s")

    rnd = random.Random(SEED + 2)
    firsts, lasts = sorted(first_names()), sorted(last_names())
    crm = [f"{rnd.choice(firsts).title()} {rnd.choice(lasts).title()}" for _ in range(args.crm_names)]
    start = time.perf_counter()
    detector = Detector(names=crm, keep=["Enron"], own_names=["Bill Rapp", "Bill", "Rapp"])
    built = time.perf_counter() - start
    # The name lists were loaded above (faker's data, once per process): this is the construction itself.
    print(f"Detector with {len(crm)} CRM names built in {built * 1000:.0f} ms")

    def side(run):
        def timed_side(i: int) -> dict[str, float]:
            texts = warm if i < 0 else slices[i % len(slices)]
            start = time.perf_counter()
            run(texts)
            seconds = time.perf_counter() - start
            return {"seconds": seconds, "records_per_s": len(texts) / seconds}

        return timed_side

    def doppel(texts: list[str]) -> int:
        return sum(len(detector.find(t)) for t in texts)

    two_kinds = Detector(kinds=["email", "phone"])

    def doppel_two(texts: list[str]) -> int:
        return sum(len(two_kinds.find(t)) for t in texts)

    names = (
        "baseline: regex-only (email + phone)",
        "baseline: phonenumbers on every text",
        "doppel: email + phone only",
        "doppel: Detector.find (all kinds)",
    )
    runs = (regex_only, phonenumbers_everywhere, doppel_two, doppel)
    samples = compare([(name, side(run)) for name, run in zip(names, runs)], args.repeats, warmup=args.warmup)
    report(
        samples,
        [
            Metric("records_per_s", f"records per second ({args.slice} per repeat, 1 core)", "records/s", True),
            Metric("seconds", f"wall time per {args.slice} records"),
        ],
        title=f"privacy detection on {len(corpus)} {'Enron' if args.enron else 'synthetic'} emails",
    )
    ours = median(samples, names[3], "records_per_s")
    naive = median(samples, names[1], "records_per_s")
    print(f"\ndoppel, all kinds: {ours:.0f} records/s at the median, {ours * mean_chars / 1e6:.2f} MB/s")
    print(f"email + phone: doppel {median(samples, names[2], 'records_per_s') / naive:.2f}x phonenumbers on every text")


if __name__ == "__main__":
    main()
