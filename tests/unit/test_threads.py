"""The subject a reply shares with the email it answers."""

import pytest

from doppel.sources.threads import normalise_subject


@pytest.mark.parametrize(
    "subject, key",
    [
        ("RE: Pricing", "pricing"),
        ("Re: re:FW:  Pricing  update", "pricing update"),
        ("Fwd: AW: WG: SV: Antw: Pricing", "pricing"),
        ("  re : Pricing", "pricing"),
        ("Pricing: RE: Q3", "pricing: re: q3"),  # only a leading run is a prefix
        ("Rebate", "rebate"),  # a word that starts like a prefix is not one
        ("RE:", ""),
        ("", ""),
        (None, ""),
    ],
)
def test_reply_and_forward_prefixes_are_stripped(subject, key):
    assert normalise_subject(subject) == key
