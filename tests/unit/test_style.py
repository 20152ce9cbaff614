import random

import pytest

from doppel.evaluation.style import MASK, AuthorshipClassifier, habit_distance, mask_prompt_words, surface_habits

# Both authors write about the same things, so only style can tell them apart.
_TOPICS = [
    "the Q3 budget",
    "the vendor contract",
    "Thursday's board meeting",
    "the hiring plan",
    "the pilot with Dana",
    "the pricing sheet",
    "the Denver launch",
    "the audit findings",
]


def _allan(rng: random.Random) -> str:
    topic = rng.choice(_TOPICS)
    opener = rng.choice(["Hey team,", "Hi all,", "Hey Dana,"])
    body = rng.choice(
        [
            f"I've looked at {topic} and it's fine. Let's keep it moving!",
            f"Quick one on {topic}: we're good, don't wait on me. Let's keep it moving.",
            f"Can't see a blocker on {topic}. Ship it and let's keep it moving!",
            f"{topic.capitalize()}? Done. I'll ping finance, you'll get the numbers tonight!",
        ]
    )
    extra = rng.choice(["", " No free pilots.", " Bottom line: we're on track!", " Don't overthink it."])
    return f"{opener}\n\n{body}{extra}\n\nCheers,\nAllan"


def _margaret(rng: random.Random) -> str:
    topic = rng.choice(_TOPICS)
    opener = rng.choice(["Dear colleagues,", "Dear Mr. Hartsoe,", "Good afternoon,"])
    body = rng.choice(
        [
            f"Please find attached my comments regarding {topic}. I would be grateful for your review.",
            f"With regard to {topic}, I do not anticipate any further delays. Kindly confirm receipt.",
            f"I have reviewed {topic} in detail and would propose that we discuss it at your convenience.",
            f"Further to our conversation, the revised version of {topic} is now available for approval.",
        ]
    )
    extra = rng.choice(["", " Should you have any questions, please do not hesitate to contact me.", " Thank you."])
    return f"{opener}\n\n{body}{extra}\n\nKind regards,\nMargaret Thompson"


def _corpus(make, n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [make(rng) for _ in range(n)]


@pytest.fixture(scope="module")
def corpora():
    return {
        "allan_train": _corpus(_allan, 40, 1),
        "allan_test": _corpus(_allan, 20, 2),
        "other_train": _corpus(_margaret, 40, 3),
        "other_test": _corpus(_margaret, 20, 4),
    }


def test_classifier_separates_held_out_authors(corpora):
    clf = AuthorshipClassifier().fit(corpora["allan_train"], corpora["other_train"], seed=0)
    assert clf.share_as_person(corpora["allan_test"]) >= 0.9
    assert clf.share_as_person(corpora["other_test"]) <= 0.1
    summary = clf.summary(corpora["allan_test"])
    assert summary["n"] == 20 and summary["small_sample"] is True
    assert 0.0 <= summary["mean_prob_person"] <= 1.0


def test_classifier_is_deterministic_for_a_seed(corpora):
    probe = corpora["allan_test"] + corpora["other_test"]
    first = AuthorshipClassifier().fit(corpora["allan_train"], corpora["other_train"], seed=7).prob_person(probe)
    second = AuthorshipClassifier().fit(corpora["allan_train"], corpora["other_train"], seed=7).prob_person(probe)
    assert first == second


def _model(rng: random.Random) -> str:
    """How a chat model writes: neither Allan's nor Margaret's habits, closer to Allan's informality."""
    topic = rng.choice(_TOPICS)
    body = rng.choice(
        [
            f"Sure! Here's a quick update on {topic}. Overall, things are going well, and the team is on track.",
            f"Great question! Regarding {topic}, here are a few key points to consider going forward.",
            f"Absolutely. I'd be happy to help with {topic}. Let me know if you'd like more details!",
        ]
    )
    return f"Hi there,\n\n{body}\n\nBest,\n[Your Name]"


def test_machine_texts_teach_the_classifier_that_sounding_like_a_model_is_not_the_person(corpora):
    model_train, model_test = _corpus(_model, 16, 5), _corpus(_model, 20, 6)
    people_only = AuthorshipClassifier().fit(corpora["allan_train"], corpora["other_train"], seed=0)
    with_model = AuthorshipClassifier().fit(
        corpora["allan_train"], corpora["other_train"], seed=0, machine_texts=model_train
    )
    # Knowing only two people, the judge reads the model's texts as whichever it happens to resemble.
    assert people_only.share_as_person(model_test) >= 0.3  # 45% with these seeds
    assert with_model.share_as_person(model_test) <= 0.1
    # ... and still tells the two people apart.
    assert with_model.share_as_person(corpora["allan_test"]) >= 0.9
    assert with_model.share_as_person(corpora["other_test"]) <= 0.1


def test_classifier_refuses_too_few_texts(corpora):
    with pytest.raises(ValueError, match=r"at least \d+ person texts, got 2"):
        AuthorshipClassifier().fit(corpora["allan_train"][:2], corpora["other_train"])
    with pytest.raises(ValueError, match=r"at least \d+ other texts, got 0"):
        AuthorshipClassifier().fit(corpora["allan_train"], [])
    with pytest.raises(RuntimeError):
        AuthorshipClassifier().prob_person(["hi"])


def test_surface_habits_see_greeting_sign_off_and_contractions(corpora):
    allan = surface_habits(corpora["allan_train"])
    other = surface_habits(corpora["other_train"])
    assert allan["sign_off_share"] == 1.0 and other["sign_off_share"] == 1.0
    assert allan["greeting_share"] == 1.0
    assert allan["contraction_rate"] > 0.05 and other["contraction_rate"] == 0.0
    assert allan["exclamation_rate"] > other["exclamation_rate"]
    assert any(pair == "keep it" for pair, _ in allan["top_bigrams"])
    assert allan["n"] == 40 and allan["small_sample"] is False
    # A one-liner has no sign-off, and a long closing sentence is body, not a sign-off.
    plain = surface_habits(["Thanks", "Ok.\nThanks for the report, I will read every page of it tonight"])
    assert plain["sign_off_share"] == 0.0 and plain["n"] == 2 and plain["small_sample"] is True
    empty = surface_habits([])
    assert empty["n"] == 0 and empty["mean_words"] == 0.0


def test_habit_distance_smaller_within_author(corpora):
    allan_a = surface_habits(corpora["allan_train"])
    allan_b = surface_habits(corpora["allan_test"])
    other = surface_habits(corpora["other_test"])
    assert habit_distance(allan_a, allan_a) == 0.0
    within = habit_distance(allan_a, allan_b)
    across = habit_distance(allan_a, other)
    assert within < across
    assert 0.0 <= within <= 1.0 and 0.0 <= across <= 1.0


def test_paraphrase_is_closer_than_unrelated_sentence():
    from doppel.evaluation.similarity import Embedder, pairwise_similarity

    embedder = Embedder()
    reference = "The board meeting has been moved to Thursday afternoon."
    paraphrase = "We rescheduled the board meeting for Thursday after lunch."
    unrelated = "My cat likes to sleep in the sun on the balcony."
    close, far = pairwise_similarity([paraphrase, unrelated], [reference, reference], embedder=embedder)
    assert close > far + 0.2
    vectors = embedder.encode([reference, paraphrase])
    assert vectors.shape == (2, 384)
    assert abs(float((vectors**2).sum(axis=1)[0]) - 1.0) < 1e-4
    with pytest.raises(ValueError, match="one reference per reply"):
        pairwise_similarity(["a"], [], embedder=embedder)


def test_the_prompts_content_words_are_blanked_before_judging_style():
    prompt = 'Write a short email to Donna Martens with the subject "Red Rock" about: Tony, participate.'
    masked = mask_prompt_words("Donna, Tony and I will participate in the Red Rock meeting. Thanks.", prompt)
    assert masked == f"{MASK}, {MASK} and I will {MASK} in the {MASK} {MASK} meeting. Thanks."
    assert mask_prompt_words("Nothing shared here.", "") == "Nothing shared here."


def test_the_relevance_interval_says_when_the_sign_is_noise():
    from doppel.evaluation.stats import paired_interval

    clear = paired_interval([0.5, 0.6, 0.55, 0.58], [0.2, 0.25, 0.22, 0.3])
    assert clear.significant and clear.low > 0
    noisy = paired_interval([0.5, 0.1, 0.6, 0.2], [0.2, 0.5, 0.3, 0.4])
    assert not noisy.significant and noisy.low < 0 < noisy.high
    assert paired_interval([0.5], [0.4]) is None
