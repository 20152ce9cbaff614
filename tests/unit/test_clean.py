from doppel.sources.clean import clean_email_body, normalize_whitespace


def test_quoted_reply_with_wrapped_header_is_cut():
    body = (
        "Hey Dana,\n\nNo free pilots. Paid pilot, credited against year one.\n\nCheers,\nAllan\n\n"
        "On Tue, 3 Mar 2026 at 10:00, Dana Whitfield <dana@example.com>\nwrote:\n> Could we do a free pilot?\n"
    )
    assert clean_email_body(body) == (
        "Hey Dana,\n\nNo free pilots. Paid pilot, credited against year one.\n\nCheers,\nAllan"
    )


def test_outlook_original_message_and_header_block_are_cut():
    a = "Sounds good.\n\n-----Original Message-----\nFrom: X\nSent: Monday\nTo: Y\nSubject: hi\n\ntheir text"
    assert clean_email_body(a) == "Sounds good."
    b = "Agreed, send it.\n\nFrom: Hartsoe, Joe\nSent: Monday, November 19, 2001 1:00 PM\nTo: Rapp, Bill\n\nold"
    assert clean_email_body(b) == "Agreed, send it."


def test_forwarded_block_signature_and_mobile_footer():
    assert clean_email_body("FYI below.\n---------- Forwarded message ---------\nFrom: a") == "FYI below."
    assert clean_email_body("See you then.\n-- \nJane Roe | +1 555 0100") == "See you then."
    assert clean_email_body("On my way.\n\nSent from my iPhone") == "On my way."


def test_quoted_lines_inside_are_dropped_but_own_text_kept():
    body = "> what about Friday?\nFriday works.\n> and the price?\nList price. Bottom line."
    assert clean_email_body(body) == "Friday works.\nList price. Bottom line."


def test_lines_that_only_look_like_headers_are_kept():
    body = "On it, will send by Friday.\nFrom: the team's point of view this is fine."
    assert clean_email_body(body) == body


def test_whitespace_normalised():
    assert normalize_whitespace("Patsy,\r\n\n\n\n\tSince I haven't  heard back\t\n\n\n\nBill  ") == (
        "Patsy,\n\nSince I haven't heard back\n\nBill"
    )
