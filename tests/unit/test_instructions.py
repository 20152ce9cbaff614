from collections import Counter

from doppel.dataset.duplicates import NEAR_JACCARD, TextIndex, jaccard, leak_check, normalise, shingles
from doppel.dataset.instructions import (
    MAX_VERBATIM_WORDS,
    addressee,
    derive_instruction,
    document_frequencies,
    key_phrases,
    verbatim_run,
)

CORPUS = [
    "Hi Dana,\n\nThe Alamac change orders are signed. GE confirmed the new payment schedule for the turbines.",
    "Fred,If we have the same purchaser for both, it would be easier to agree to the form.Thanks, Kay",
    "Can we move the meeting to Friday? I have a conflict on Thursday with the meeting on the budget.",
    "Gentlemen,\nAttached is the revised letter agreement with the indemnity language we discussed.",
    "However, the meeting is still on. Please bring the budget.",
]


def test_addressee_from_greetings_and_openings():
    assert addressee(CORPUS[0]) == "Dana"
    assert addressee(CORPUS[1]) == "Fred"
    assert addressee("Mitch/John,Here's the form of LOI.") == "Mitch/John"
    assert addressee("Dana -\n\nsee below") == "Dana"
    assert addressee(CORPUS[4]) is None  # "However," is nobody's name
    assert addressee(CORPUS[2]) is None


def test_key_phrases_prefer_distinctive_words_and_split_at_full_stops():
    df, n = document_frequencies(CORPUS)
    phrases = key_phrases(CORPUS[0], df, n)
    assert any("change orders" in p or "Alamac" in p for p in phrases)
    assert all("." not in p for p in key_phrases(CORPUS[1], df, n))  # "form.Thanks" is two words
    assert not any(p.casefold() in {"the", "for"} for p in phrases)


def test_instruction_names_the_addressee_and_never_quotes_more_than_the_cap():
    df, n = document_frequencies(CORPUS)
    for text in CORPUS:
        instruction = derive_instruction("emails", text, df, n)
        assert instruction.startswith("Write a")
        content = instruction.split("about:", 1)[-1]
        assert verbatim_run(content, text) <= MAX_VERBATIM_WORDS
    assert " to Dana " in derive_instruction("emails", CORPUS[0], df, n)
    assert derive_instruction("notes", "Buy milk and call the Alamac site manager tomorrow.", df, n).startswith(
        "Write a short sticky note"
    )


def test_verbatim_run_counts_the_longest_shared_word_sequence():
    assert verbatim_run("the change orders are signed", "Alamac change orders are signed today") == 4
    assert verbatim_run("nothing shared", "entirely different words") == 0


def test_duplicates_exact_and_near():
    assert normalise("  Send IT\n now ") == "send it now"
    a = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen"
    b = a + " seventeen"
    assert jaccard(shingles(a), shingles(b)) >= NEAR_JACCARD
    index = TextIndex()
    index.add("a", a)
    assert index.match(a.upper()) == ("exact", "a")
    assert index.match(b) == ("near", "a")
    assert index.match("something else altogether with other words in it") is None
    assert leak_check([a, "x y z"], [b, a, "fresh words here"]) == {"val": 3, "exact": 1, "near": 1}


def test_derived_prompts_are_distinct_for_distinct_texts():
    texts = [
        f"Please review the {thing} for the {place} project before {day}."
        for thing in ("contract", "schedule", "budget", "permit")
        for place in ("Alamac", "Coyote", "Fulton")
        for day in ("Monday", "Friday")
    ]
    df, n = document_frequencies(texts)
    prompts = Counter(derive_instruction("emails", t, df, n) for t in texts)
    assert len(prompts) >= 0.9 * len(texts)


def test_an_email_with_only_a_header_gets_its_recipients_subject_and_key_phrases():
    df, n = document_frequencies(CORPUS)
    instruction = derive_instruction("emails", CORPUS[3], df, n, to="Maria Pavlou", subject="Red Rock")
    assert instruction.startswith('Write a short email to Maria Pavlou with the subject "Red Rock" about: ')
    assert "indemnity language" in instruction or "letter agreement" in instruction
    assert verbatim_run(instruction.split("about:", 1)[1], CORPUS[3]) <= MAX_VERBATIM_WORDS
