"""The party matcher: one person, written the many ways mail systems store them."""

import pytest

from doppel.sources.parties import Party, among, display_name, display_parties, parse_parties, parse_party, same_party


def test_an_address_is_found_and_lower_cased_wherever_it_sits():
    assert parse_party("Ann Smith <Ann.Smith@Example.com>").address == "ann.smith@example.com"
    assert parse_party("'ann.smith@example.com'").address == "ann.smith@example.com"
    assert parse_party("Smith  Ann ann.smith@example.com@GATEWAY").address == "ann.smith@example.com"
    assert parse_party("Ann Smith <Ann Smith/HOU/ACME@ACME>").address is None  # a routing name, not an address


def test_names_ignore_order_case_initials_and_mail_system_residue():
    assert parse_party("Smith  Ann B. <Ann.Smith@x.com>").name == {"smith", "ann"}
    assert parse_party('"Smith, Ann (Annie)" <a@x.com>').name == {"smith", "ann"}
    assert parse_party("Ann Smith <Ann Smith/HOU/ACME@ACME>").name == {"ann", "smith"}
    assert parse_party("ann.smith@x.com").name == {"ann", "smith"}  # no display name: the address's local part


def test_addresses_decide_when_both_sides_have_one():
    assert same_party(parse_party("Ann <ann@x.com>"), parse_party("ANN@X.COM"))
    assert not same_party(parse_party("Ann Smith <ann@x.com>"), parse_party("Ann Smith <ann@home.net>"))


@pytest.mark.parametrize(
    "a, b, same",
    [
        ("Smith  Ann <Ann.Smith@x.com>", "Ann Smith <Ann Smith/HOU/ACME@ACME>", True),
        ("ann.smith@x.com", "Smith, Ann", True),
        ("Cobb Jr.  John <John.Cobb@x.com>", "John Cobb", True),
        ("Ann Smith", "Bo Smith", False),
        ("Smith", "Ann Smith", False),  # one word is too little to call it the same person
        ("", "Ann Smith", False),
    ],
)
def test_names_decide_otherwise(a, b, same):
    assert same_party(parse_party(a), parse_party(b)) is same


def test_loose_accepts_one_word_for_ruling_out_the_person():
    person = Party("bill.rapp@x.com", frozenset({"bill", "rapp"}))
    assert same_party(parse_party("Rapp <Rapp>"), person, loose=True)
    assert not same_party(parse_party("Rapp <Rapp>"), person)
    assert not same_party(parse_party("Sanchez <Sanchez>"), person, loose=True)


def test_recipient_fields_split_on_commas_and_semicolons_but_not_inside_names():
    field = 'a@x.com; "Lee, Bo" <bo@z.com>, Smith, Ann <ann@y.com>, Carl Jones, Dee <Dee/HOU/ACME@ACME>'
    parties = parse_parties(field)
    assert [p.address for p in parties] == ["a@x.com", "bo@z.com", "ann@y.com", None, None]
    assert parties[2].name == {"smith", "ann"} and parties[3].name == {"carl", "jones"}
    assert among(parse_party("ann@y.com"), parties) and among(parse_party("Jones  Carl"), parties)
    assert not among(parse_party("Bo Lee <bo@elsewhere.com>"), parties)
    assert parse_parties(None) == () and parse_parties(" , ") == ()


def test_a_party_is_shown_as_a_person_would_write_it():
    assert display_name('"Smith, Ann" <ann.smith@x.com>') == "Ann Smith"
    assert display_name("Emily Sellers <Emily Sellers/ENRON@enronXgate@ENRON>") == "Emily Sellers"
    assert display_name("'bill@prodigy.net'") == "bill@prodigy.net"


def test_recipients_are_shown_without_mail_system_paths_and_capped():
    exchange = "Pavlou <Pavlou>, Maria </O=ENRON/OU=NA/CN=RECIPIENTS/CN=Mpavlou>"
    assert display_parties(exchange) == "Maria Pavlou"
    assert display_parties("Porter <Porter>, J. Gregory </O=ENRON/OU=NA/CN=RECIPIENTS/CN=Gporter>") == (
        "J. Gregory Porter"
    )
    assert display_parties(f"{exchange}, Dana Lee; bob@y.com") == "Maria Pavlou, Dana Lee, bob@y.com"
    assert display_parties("a@x.com, b@x.com, c@x.com, d@x.com, e@x.com") == "a@x.com, b@x.com, c@x.com and 2 others"
    assert display_parties(None) == ""
