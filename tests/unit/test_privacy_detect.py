"""Privacy detection and fakes: every kind found in a sentence, ordinary words left alone, and fakes that
are consistent, keyed, of the same kind and shape, and kept nowhere."""

from __future__ import annotations

import ipaddress
import re
import time

import phonenumbers
import pytest
from stdnum import iban as stdnum_iban
from stdnum.br import cpf
from stdnum.es import dni, nie
from stdnum.eu import vat
from stdnum.us import itin

from doppel.privacy.detect import KINDS, Detector, Span, changed_token_share, luhn_valid
from doppel.privacy.fakes import Fakes
from doppel.privacy.names import common_words, fake_first_names, fake_last_names, first_names, last_names

KEY = b"k" * 32
EMAIL = re.compile(r"^[a-z0-9._%+'-]+@[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}$")


@pytest.fixture(scope="module")
def detector() -> Detector:
    return Detector(
        names=["Peggy Mahoney", "Mahoney, Peggy", "Will Price"],
        keep=["Enron", "Dynegy"],
        own_names=["Bill Rapp", "Bill", "Rapp", "bill.rapp@enron.com"],
    )


def found(detector: Detector, text: str) -> list[tuple[str, str]]:
    return [(s.kind, s.value) for s in detector.find(text)]


# ------------------------------------------------------------------------------------------ detection


@pytest.mark.parametrize(
    "text, kind, value",
    [
        ("Send it to ann.smith@example.com today.", "email", "ann.smith@example.com"),
        ("Call me at (713) 853-6384 after lunch.", "phone", "(713) 853-6384"),
        ("My cell is 713.853.6384.", "phone", "713.853.6384"),
        ("Our London desk: +44 20 7946 0958.", "phone", "+44 20 7946 0958"),
        ("Ring me on x3-6059 when you are in.", "phone", "3-6059"),
        ("My card 4111 1111 1111 1111 expires soon.", "card", "4111 1111 1111 1111"),
        ("Amex 3782 822463 10005 please.", "card", "3782 822463 10005"),
        ("Wire it to IBAN DE89 3704 0044 0532 0130 00 by Friday.", "iban", "DE89 3704 0044 0532 0130 00"),
        ("Our VAT number is DE136695976.", "national_id", "DE136695976"),
        ("DNI 54362315K on file.", "national_id", "54362315K"),
        ("Her SSN 123-45-6789 is on the form.", "ssn", "123-45-6789"),
        ("SSN: 123456789", "ssn", "123456789"),
        ("The server 10.2.3.4 is down.", "ip", "10.2.3.4"),
        ("Use 2001:db8:85a3::8a2e:370:7334 instead.", "ip", "2001:db8:85a3::8a2e:370:7334"),
        ("Reset at https://x.com/reset?token=Ab3dEf9hIjKlMnOp&lang=en now.", "url_token", "Ab3dEf9hIjKlMnOp"),
        ("Log in at https://bob:s3cret@host.example.com/ today.", "url_token", "s3cret"),
        ("The key AKIAIOSFODNN7EXAMPLE leaked.", "secret", "AKIAIOSFODNN7EXAMPLE"),
        ("token ghp_abcdefghijklmnopqrstuvwxyz0123456789 here", "secret", "ghp_abcdefghijklmnopqrstuvwxyz0123456789"),
        ("Slack xoxb-1234567890-abcdefghij works.", "secret", "xoxb-1234567890-abcdefghij"),
        ("Stripe sk_live_abcdefghijklmnop1234 is live.", "secret", "sk_live_abcdefghijklmnop1234"),
        (
            "JWT eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abcDEF123_-x ok",
            "secret",
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abcDEF123_-x",
        ),
        ("api_key=Zx8Kq2LmN4pR7sT1vW3y", "secret", "Zx8Kq2LmN4pR7sT1vW3y"),
        ("password: hunter2.", "secret", "hunter2"),
        ("Password: WELCOME!", "secret", "WELCOME!"),
        ("Your PIN is 4921.", "secret", "4921"),
        ("Your verification code: 889911", "secret", "889911"),
        ("OTP 123456 expires in 5 minutes.", "secret", "123456"),
        ("Thanks, Juan", "name", "Juan"),
        ("I spoke with Peggy Mahoney yesterday.", "name", "Peggy Mahoney"),
        ("Dear Mr. Lozano, thank you.", "name", "Lozano"),
    ],
)
def test_each_kind_is_found_in_a_sentence(detector, text, kind, value):
    assert (kind, value) in found(detector, text)


def test_a_pem_private_key_is_found_as_its_body():
    body = "MIIEowIBAAKCAQEA7bq\nZ3x9Q0pB+aaa/bbb=="
    text = f"here:\n-----BEGIN RSA PRIVATE KEY-----\n{body}\n-----END RSA PRIVATE KEY-----\nbye"
    assert found(Detector(), text) == [("secret", body)]


def test_only_the_value_of_a_password_is_a_span(detector):
    spans = detector.find("Login ID: jdoe\nPassword: q#9M#npX (please change)")
    assert [(s.kind, s.value) for s in spans] == [("secret", "q#9M#npX")]


def test_spans_are_sorted_non_overlapping_and_hold_their_text(detector):
    text = "Hi Peggy, mail peggy.mahoney@enron.com or call +1 713 853 6384; card 4111-1111-1111-1111."
    spans = detector.find(text)
    assert spans == sorted(spans, key=lambda s: s.start)
    assert all(a.end <= b.start for a, b in zip(spans, spans[1:]))
    assert all(text[s.start : s.end] == s.value and s.kind in KINDS for s in spans)
    assert [s.kind for s in spans] == ["name", "email", "phone", "card"]  # no name inside the address


@pytest.mark.parametrize(
    "text",
    [
        "I will bring the green file in May.",
        "Mark the date.",
        "Will you bring it? May I ask? Grant access to the folder. Hope you are well.",
        "Frank discussions with the White House about the Price of gas in June and August.",
        "Summer is long; Young people love rich food. King size. Rose gardens. Brown rice. Green energy.",
        "The deal 1234567 closed on 11/21/2001 at $12,345,678.90, version 1.2.3.4, time 10:30:45.",
        "Morgan Stanley and Goldman Sachs met Dow Jones in Houston, Dallas and Austin.",
        "Please see the attached file. Thanks for your help. Best regards, the team.",
        "Hi all, Dear Sir, Thanks again.",
        "The area code: 713 and zip code: 77002 apply.",
        "I will price it tomorrow.",
    ],
)
def test_ordinary_words_and_numbers_are_not_eaten(detector, text):
    assert detector.find(text) == []


def test_sentence_initial_common_words_are_not_names():
    detector = Detector()
    for word in ["Will", "May", "Can", "Mark", "Bill", "Grant", "Frank", "Hope", "Faith", "Love", "Long", "Young"]:
        assert detector.find(f"{word} the others come along?") == [], word


def test_greetings_make_even_common_word_names_names():
    detector = Detector()
    assert found(detector, "Hi Bill, see below.") == [("name", "Bill")]
    assert found(detector, "Best,\nWill") == [("name", "Will")]
    assert found(detector, "Thanks,\nMark Green") == [("name", "Mark Green")]
    assert found(detector, "Hi Xochitl, welcome.") == [("name", "Xochitl")]  # a name no list holds


def test_names_from_the_lists_with_and_without_surnames():
    detector = Detector()
    assert found(detector, "I met Juan Lozano and Peggy.") == [("name", "Juan Lozano"), ("name", "Peggy")]
    assert found(detector, "Ask Vince J. Kaminski first.") == [("name", "Vince J. Kaminski")]
    assert found(detector, "Tholt, Jane; Lozano, Juan") == [("name", "Tholt, Jane"), ("name", "Lozano, Juan")]
    assert found(detector, "Mark Taylor/HOU/ECT@ECT") == [("name", "Mark Taylor")]
    assert found(detector, "Smith Street") == []


def test_all_caps_bylines_and_names():
    detector = Detector()
    assert found(detector, "By JUAN A. LOZANO\n\nAssociated Press Writer") == [("name", "JUAN A. LOZANO")]
    assert found(detector, "PLEASE SEE ATTACHED AP RELEASE FROM YESTERDAY WITH QUOTE FROM DYNEGY.") == []


def test_crm_names_match_case_insensitively_in_both_orders(detector):
    assert found(detector, "peggy mahoney called") == [("name", "peggy mahoney")]
    assert found(detector, "To: Mahoney, Peggy") == [("name", "Mahoney, Peggy")]
    assert found(detector, "PEGGY A. MAHONEY") == [("name", "PEGGY A. MAHONEY")]
    assert found(detector, "Will Price said so, but we will price it later.") == [("name", "Will Price")]


def test_keep_and_own_names_are_never_replaced(detector):
    text = "Thanks,\nBill Rapp\nbill.rapp@enron.com\nEnron and Dynegy. Hi Bill, Rapp here."
    assert detector.find(text) == []
    # ... but another person who shares the first name is someone else.
    assert found(detector, "Bill Smith called.") == [("name", "Bill Smith")]


def test_kinds_can_be_switched_off():
    only = Detector(kinds=["email"])
    assert found(only, "Hi Peggy, mail p@x.com or call 713-853-6384.") == [("email", "p@x.com")]
    with pytest.raises(ValueError, match="unknown kinds"):
        Detector(kinds=["email", "shoe_size"])


def test_names_inside_urls_are_not_names():
    assert found(Detector(), "see http://www.example.com/Peggy/Juan?id=4 now") == []


def test_thousands_of_crm_names_build_fast_and_match():
    firsts = sorted(first_names() - common_words())[:100]
    lasts = sorted(last_names() - common_words())[:50]
    names = [f"{f.title()} {s.title()}" for f in firsts for s in lasts]
    assert len(names) == 5000
    start = time.perf_counter()
    detector = Detector(names=names)
    assert time.perf_counter() - start < 2.0  # a dict of word tuples, not 5,000 regexes
    text = f"Met {names[1234]} and {names[4321].upper()} at noon."
    assert [s.value for s in detector.find(text)] == [names[1234], names[4321].upper()]


def test_changed_token_share_counts_whitespace_tokens_touched():
    text = "Call Peggy Mahoney at 713-853-6384 now"
    spans = [Span(5, 18, "name", "Peggy Mahoney"), Span(22, 34, "phone", "713-853-6384")]
    assert changed_token_share(text, spans) == (3, 6)
    assert changed_token_share("", []) == (0, 0)


# ---------------------------------------------------------------------------------------------- fakes


def test_same_key_and_value_give_the_same_fake_across_records_and_objects():
    a, b = Fakes(KEY), Fakes(KEY)
    for kind, value in [("name", "Peggy Mahoney"), ("email", "p@x.com"), ("phone", "713-853-6384"), ("ip", "10.0.0.7")]:
        assert a.fake(kind, value) == a.fake(kind, value) == b.fake(kind, value) != value


def test_a_rewrite_is_consistent_across_records():
    detector, fakes = Detector(names=["Peggy Mahoney"]), Fakes(KEY)
    first = "Hi Peggy, call me at 713-853-6384."
    second = "Peggy Mahoney wrote from 713-853-6384 again."
    one, two = (fakes.rewrite(t, detector.find(t)) for t in (first, second))
    fake_first = fakes.fake("name", "Peggy")
    fake_phone = fakes.fake("phone", "713-853-6384")
    assert one == f"Hi {fake_first}, call me at {fake_phone}."
    assert two == f"{fakes.fake('name', 'Peggy Mahoney')} wrote from {fake_phone} again."
    assert two.startswith(fake_first + " ")  # the first name agrees with the full name's


def test_formatting_variants_of_one_value_share_their_fake():
    fakes = Fakes(KEY)
    assert fakes.fake("email", "Ann.Smith@X.com") == fakes.fake("email", "ann.smith@x.com")
    us = [fakes.fake("phone", v) for v in ("+1 713 555 0100", "(713) 555-0100", "713.555.0100", "7135550100")]
    assert len({re.sub(r"\D", "", p)[-10:] for p in us}) == 1
    assert us[1][0] == "(" and us[1][4:6] == ") " and us[2].count(".") == 2  # each keeps its layout
    assert re.sub(r"\D", "", fakes.fake("card", "4111 1111 1111 1111")) == fakes.fake("card", "4111111111111111")
    assert fakes.fake("name", "Smith, Ann") == "{1}, {0}".format(*fakes.fake("name", "Ann Smith").split())
    assert fakes.fake("name", "ANN SMITH") == fakes.fake("name", "Ann Smith").upper()
    assert fakes.fake("name", "Mahoney  Peggy") == "{1}  {0}".format(*fakes.fake("name", "Peggy Mahoney").split())


def test_a_different_key_gives_different_fakes():
    a, b = Fakes(KEY), Fakes(b"another key of 32 bytes........")
    values = [
        ("name", "Peggy Mahoney"),
        ("email", "ann@x.com"),
        ("phone", "713-853-6384"),
        ("card", "4111111111111111"),
    ]
    values += [("iban", "DE89370400440532013000"), ("ssn", "123-45-6789"), ("secret", "hunter2")]
    assert sum(a.fake(k, v) != b.fake(k, v) for k, v in values) == len(values)


def test_fakes_keep_their_kind():
    fakes = Fakes(KEY)
    first, last = fakes.fake("name", "Peggy Mahoney").split()
    assert first.lower() in fake_first_names() and last.lower() in fake_last_names()
    assert fakes.fake("name", "Juan").lower() in first_names()
    for address in ["peggy.mahoney@enron.com", "EESDistribution@ENRON.com", "x9@mail.example.co.uk", "a+b@gmail.com"]:
        assert EMAIL.match(fakes.fake("email", address)), address
    for card in ["4111 1111 1111 1111", "378282246310005", "5500-0000-0000-0004"]:
        fake = fakes.fake("card", card)
        assert luhn_valid(re.sub(r"\D", "", fake)) and len(fake) == len(card) and fake[0] == card[0]
    for number in [
        "DE89 3704 0044 0532 0130 00",
        "GB82 WEST 1234 5698 7654 32",
        "BE68539007547034",
        "NL91ABNA0417164300",
    ]:
        fake = fakes.fake("iban", number)
        assert stdnum_iban.is_valid(fake) and fake[:2] == number[:2] and len(fake) == len(number), number
    for number, valid in [
        ("54362315K", dni.is_valid),
        ("X2482300W", nie.is_valid),
        ("DE136695976", vat.is_valid),
        ("FR40303265045", vat.is_valid),
        ("NL004495445B01", vat.is_valid),
        ("390.533.447-05", cpf.is_valid),
        ("912-71-1234", itin.is_valid),
    ]:
        fake = fakes.fake("national_id", number)
        assert valid(fake) and fake != number and len(fake) == len(number), number
        assert fake[:2] == number[:2] or not number[:2].isalpha()  # a VAT number keeps its country
    ssn = fakes.fake("ssn", "123-45-6789")
    assert re.fullmatch(r"\d{3}-\d{2}-\d{4}", ssn) and 773 <= int(ssn[:3]) <= 899
    assert ipaddress.ip_address(fakes.fake("ip", "10.2.3.4")) in ipaddress.ip_network("192.0.0.0/3")
    assert fakes.fake("ip", "10.2.3.4").startswith(("192.0.2.", "198.51.100.", "203.0.113."))
    assert ipaddress.ip_address(fakes.fake("ip", "2001:4860::8888")) in ipaddress.ip_network("2001:db8::/32")
    phone = phonenumbers.parse(fakes.fake("phone", "+44 20 7946 0958"))
    assert phone.country_code == 44 and phonenumbers.is_valid_number(phone)
    assert "555-01" in fakes.fake("phone", "713-853-6384")  # the block set aside for fiction


def test_tokens_and_secrets_keep_length_alphabet_and_telling_prefixes():
    fakes = Fakes(KEY)
    token = fakes.fake("url_token", "Ab3dEf9hIjKlMnOp%2F")
    assert len(token) == 19 and token.endswith("%2F") and token != "Ab3dEf9hIjKlMnOp%2F"
    assert re.fullmatch(r"[A-Za-z0-9]{16}%2F", token)
    aws = fakes.fake("secret", "AKIAIOSFODNN7EXAMPLE")
    assert aws.startswith("AKIA") and len(aws) == 20 and aws != "AKIAIOSFODNN7EXAMPLE"
    assert re.fullmatch(r"[a-z]{6}\d", fakes.fake("secret", "hunter2"))


def test_email_fakes_follow_the_name_they_are_made_of_and_keep_kept_domains():
    fakes = Fakes(KEY, keep=["Enron"])
    first, last = fakes.fake("name", "Peggy Mahoney").lower().split()
    assert fakes.fake("email", "Peggy.Mahoney@ENRON.com") == f"{first}.{last}@enron.com"
    assert fakes.fake("email", "pmahoney@dynegy.com").endswith(
        f"{last}@" + fakes.fake("email", "x@dynegy.com").split("@")[1]
    )
    assert not Fakes(KEY).fake("email", "peggy.mahoney@enron.com").endswith("@enron.com")
    assert fakes.fake("email", "someone@gmail.com").endswith("@gmail.com")  # webmail says nothing about who


def test_a_rewrite_replaces_exactly_the_spans():
    detector, fakes = Detector(), Fakes(KEY)
    text = "Hi Juan,\nmy card is 4111 1111 1111 1111 and my password: hunter2.\nThanks"
    out = fakes.rewrite(text, detector.find(text))
    assert "Juan" not in out and "4111 1111 1111 1111" not in out and "hunter2" not in out
    assert out.startswith("Hi ") and "my card is " in out and "my password: " in out and out.endswith(".\nThanks")


def test_no_mapping_is_kept():
    fakes = Fakes(KEY)
    before = {k: repr(v) for k, v in vars(fakes).items() if k != "_by_kind"}
    for kind, value in [("name", "Peggy Mahoney"), ("email", "p@x.com"), ("phone", "713-853-6384")]:
        fakes.fake(kind, value)
    after = {k: repr(v) for k, v in vars(fakes).items() if k != "_by_kind"}
    assert before == after  # nothing was remembered
    assert "Peggy" not in repr(vars(fakes)) and "Mahoney" not in repr(vars(fakes))


@pytest.mark.parametrize("kind", KINDS)
def test_odd_values_still_get_a_fake_and_never_hang(kind):
    fakes = Fakes(KEY)
    for value in ["", "a", "@", "x@", "12", "+", "::1", "999.1.1.1", "Ünïcødé", "O'Brien-Smith", "   ", "Jr"]:
        fake = fakes.fake(kind, value)
        assert isinstance(fake, str)


def test_suffixes_stay_and_the_name_around_them_agrees():
    fakes = Fakes(KEY)
    first, last = fakes.fake("name", "Robert Kilmer").split()
    assert fakes.fake("name", "Robert Kilmer III") == f"{first} {last} III"
    assert fakes.fake("name", "Kilmer, Robert Jr.") == f"{last}, {first} Jr."


@pytest.mark.parametrize(
    "text",
    [
        "Hi " * 30_000,  # thousands of spans: resolving overlaps must not be quadratic
        ", ".join(["Mahoney"] * 10_000),
        " ".join(["1234"] * 10_000),  # a column of numbers: one phone parse per window, not per number
        "1." * 40_000,
        "a@" * 40_000,
    ],
    ids=["greetings", "surnames", "digit-groups", "dots", "at-signs"],
)
def test_hostile_texts_stay_fast(text):
    detector = Detector(names=["Peggy Mahoney"])
    start = time.perf_counter()
    detector.find(text)
    assert time.perf_counter() - start < 5.0  # ~0.1-0.7 s here; quadratic behaviour takes minutes
