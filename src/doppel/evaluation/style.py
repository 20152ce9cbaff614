"""Does a reply read like the person wrote it?

Two views, both cheap and model-free:

- ``AuthorshipClassifier``: a character n-gram classifier trained on the
  person's real texts against other people's. Character n-grams pick up
  spelling, punctuation, casing and pet phrases, which is what style is, and
  they need no tokenizer of the twin's own (so the judge is independent of it).
  Replies are judged with their prompt's content words blanked
  (``mask_prompt_words``), so copying the prompt reads as no one.
- ``surface_habits``: a handful of countable habits (length, greeting,
  sign-off, contractions, exclamations, favourite word pairs) that a person
  can read and compare by eye; ``habit_distance`` turns two such profiles
  into one number.

Every summary says how many texts it rests on (``n``) and flags
``small_sample`` so a score from a handful of replies is not over-read.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from collections.abc import Sequence

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

# Below this many texts per side the classifier learns the texts, not the style.
MIN_TEXTS_PER_SIDE = 5
# Below this many texts a share or a mean moves a lot from one text to the next.
SMALL_SAMPLE = 30


def sample_fields(n: int) -> dict:
    return {"n": n, "small_sample": n < SMALL_SAMPLE}


class AuthorshipClassifier:
    """Person-vs-others classifier over character n-grams."""

    def __init__(self) -> None:
        self._pipeline: Pipeline | None = None

    def fit(
        self,
        person_texts: Sequence[str],
        other_texts: Sequence[str],
        seed: int = 0,
        machine_texts: Sequence[str] = (),
    ) -> AuthorshipClassifier:
        """Learn the person against other people and, when given, a language model's own writing.

        The two "not the person" sources weigh half each, and the person as much as both: with people alone, a
        model's fluent generic text falls wherever the people's styles happen to put it, and a base model that
        never saw the person was read as them half the time. Machine texts teach the judge that sounding like a
        model is not sounding like the person.
        """
        for side, texts in (("person", person_texts), ("other", other_texts)):
            if len(texts) < MIN_TEXTS_PER_SIDE:
                raise ValueError(
                    f"AuthorshipClassifier needs at least {MIN_TEXTS_PER_SIDE} {side} texts, got {len(texts)}"
                )
        pipeline = Pipeline(
            [
                # char_wb keeps n-grams inside word boundaries; lowercase=False because casing is a habit.
                ("tfidf", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True, lowercase=False)),
                # Weighted (below): the person usually has far fewer texts than "everyone else".
                ("logreg", LogisticRegression(max_iter=2000, random_state=seed)),
            ]
        )
        sides = [(person_texts, 1, 1.0), (other_texts, 0, 0.5 if machine_texts else 1.0), (machine_texts, 0, 0.5)]
        texts, labels, weights = [], [], []
        total = len(person_texts) + len(other_texts) + len(machine_texts)
        for side_texts, label, share in sides:
            if not side_texts:
                continue
            texts += list(side_texts)
            labels += [label] * len(side_texts)
            weights += [share * total / (2 * len(side_texts))] * len(side_texts)
        pipeline.fit(texts, labels, logreg__sample_weight=weights)
        self._pipeline = pipeline
        return self

    def prob_person(self, texts: Sequence[str]) -> list[float]:
        """Probability that each text was written by the person."""
        if self._pipeline is None:
            raise RuntimeError("AuthorshipClassifier.fit must be called before scoring")
        if not texts:
            return []
        person_column = list(self._pipeline.classes_).index(1)
        return [float(row[person_column]) for row in self._pipeline.predict_proba(list(texts))]

    def share_as_person(self, texts: Sequence[str], threshold: float = 0.5) -> float:
        """Share of texts the classifier attributes to the person (0.0 for no texts)."""
        probs = self.prob_person(texts)
        return sum(p >= threshold for p in probs) / len(probs) if probs else 0.0

    def summary(self, texts: Sequence[str], threshold: float = 0.5) -> dict:
        probs = self.prob_person(texts)
        return {
            "share_as_person": sum(p >= threshold for p in probs) / len(probs) if probs else 0.0,
            "mean_prob_person": statistics.fmean(probs) if probs else 0.0,
            "threshold": threshold,
            **sample_fields(len(probs)),
        }


_WORD = re.compile(r"[A-Za-z0-9]+(?:['’][A-Za-z]+)?")
# Stands in for a word the prompt handed over: the same two characters on every side, so it tells no one apart.
MASK = "_"


def mask_prompt_words(text: str, prompt: str) -> str:
    """The text with every content word of its prompt blanked out.

    The authorship classifier should judge how a reply is written, not which
    words it was given: a prompt naming the person's own distinctive phrases
    ("change orders", "Alamac") lets any model that copies them read as the
    person. Function words stay, since how someone uses "the" or "we" is style.
    """
    from doppel.dataset.instructions import STOP_WORDS

    given = {w.casefold() for w in _WORD.findall(prompt)}
    given = {w for w in given if len(w) > 2 and w not in STOP_WORDS}
    if not given:
        return text
    return _WORD.sub(lambda m: MASK if m.group().casefold() in given else m.group(), text)


def prompt_text(messages) -> str:
    """Everything the writer was shown, the system message included: it names the person, and a base model
    told "You are Kay Brown" writes "I'm Kay Brown", which the classifier would otherwise credit as her
    sign-off (on the Panza person that alone lifted the base model from 56% to 81% read as her)."""
    return "\n".join(m["content"] for m in messages)


# "don't", "I'm", "we'll", "it's"... An 's only after words that cannot own things, so "Thursday's" is no contraction.
_CONTRACTION = re.compile(
    r"^([a-z]+n['’]t|[a-z]+['’](re|ve|ll|d|m)|(it|that|what|there|here|he|she|who|let|where|how)['’]s)$",
    re.IGNORECASE,
)
_GREETING = re.compile(
    r"^(hi|hello|hey|hiya|dear|morning|good (morning|afternoon|evening)|greetings|all|team|folks)\b",
    re.IGNORECASE,
)
_SIGN_OFF = re.compile(
    r"^(cheers|thanks|thank you|thx|many thanks|best|all the best|regards|kind regards|best regards|warm regards|"
    r"sincerely|yours|talk soon|take care|speak soon|later)\b",
    re.IGNORECASE,
)
# A sign-off is short: "Cheers, Allan" yes, "Thanks for the report, I will read it tonight" no.
_SIGN_OFF_MAX_WORDS = 4


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _has_greeting(lines: list[str]) -> bool:
    return bool(lines) and bool(_GREETING.match(lines[0]))


def _has_sign_off(lines: list[str]) -> bool:
    # The sign-off sits on the last line ("Cheers, Allan") or the one above the name ("Cheers,\nAllan").
    # A one-line text is its own body, not a sign-off.
    if len(lines) < 2:
        return False
    return any(_SIGN_OFF.match(line) and len(_WORD.findall(line)) <= _SIGN_OFF_MAX_WORDS for line in lines[-2:])


def surface_habits(texts: Sequence[str]) -> dict:
    """Countable writing habits of a set of texts."""
    lengths: list[int] = []
    greetings = sign_offs = contractions = exclamations = total_words = 0
    bigrams: Counter[str] = Counter()
    for text in texts:
        words = _WORD.findall(text)
        lines = _lines(text)
        lengths.append(len(words))
        total_words += len(words)
        greetings += _has_greeting(lines)
        sign_offs += _has_sign_off(lines)
        contractions += sum(bool(_CONTRACTION.match(w)) for w in words)
        exclamations += text.count("!")
        lowered = [w.lower().replace("’", "'") for w in words]
        bigrams.update(f"{a} {b}" for a, b in zip(lowered, lowered[1:]))
    n = len(lengths)
    return {
        "mean_words": statistics.fmean(lengths) if n else 0.0,
        "median_words": float(statistics.median(lengths)) if n else 0.0,
        "greeting_share": greetings / n if n else 0.0,
        "sign_off_share": sign_offs / n if n else 0.0,
        # Per word, so long and short texts are comparable.
        "contraction_rate": contractions / total_words if total_words else 0.0,
        "exclamation_rate": exclamations / total_words if total_words else 0.0,
        "top_bigrams": bigrams.most_common(10),
        **sample_fields(n),
    }


def _relative_gap(a: float, b: float) -> float:
    """|a - b| scaled by the larger of the two: 0 when equal, 1 when one is zero and the other not."""
    top = max(abs(a), abs(b))
    return abs(a - b) / top if top else 0.0


def habit_distance(a: dict, b: dict) -> float:
    """Mean of six per-habit gaps, each in [0, 1]; 0 means the same profile.

    - length: relative gap of ``median_words`` (median, so one rambling text does not dominate);
    - greeting and sign-off shares: absolute difference (already shares);
    - contraction and exclamation rates: relative gap (rates are small, so an absolute
      difference would always look near zero);
    - favourite phrases: 1 - Jaccard overlap of the two top-bigram sets.
    """
    bigrams_a = {pair for pair, _ in a["top_bigrams"]}
    bigrams_b = {pair for pair, _ in b["top_bigrams"]}
    union = bigrams_a | bigrams_b
    gaps = [
        _relative_gap(a["median_words"], b["median_words"]),
        abs(a["greeting_share"] - b["greeting_share"]),
        abs(a["sign_off_share"] - b["sign_off_share"]),
        _relative_gap(a["contraction_rate"], b["contraction_rate"]),
        _relative_gap(a["exclamation_rate"], b["exclamation_rate"]),
        1.0 - len(bigrams_a & bigrams_b) / len(union) if union else 0.0,
    ]
    return statistics.fmean(gaps)
