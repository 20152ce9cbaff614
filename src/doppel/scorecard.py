"""The scorecard's format: typed parts, their headline numbers, and the promotion check over them.

A scorecard is written once by an evaluation (``doppel.evaluation.evaluate``)
and read by many: the HTML report, the CLI table, the versions page, the
promotion gate and the monthly history. They all read these types, never
string paths into a dict.

The JSON on disk and on the wire is exactly what the parts dump with
``exclude_unset``: a key an evaluation did not write stays absent, one it
wrote as null stays null, and keys this version does not know (a newer
doppel's, or a caller's ``path``) ride along untouched. Every field is
optional because a partial evaluation (``doppel eval --part fit``) is still a
scorecard worth reading.

This module sits on the lowest floor: ``config`` validates
``promotion.min_scores`` against ``SCORE_NAMES``, which the parts define.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

Number = float | None


class Part(BaseModel):
    """One block of the scorecard; unknown keys are kept, so old and new cards both round-trip."""

    model_config = ConfigDict(extra="allow")

    def headline(self) -> dict[str, Number]:
        """This part's numbers under their short names (the part's name goes in front)."""
        return {}


class Counted(Part):
    """A block that says how many examples it rests on, and whether that is few."""

    n: int | None = None
    small_sample: bool | None = None


# --------------------------------------------------------------------------- fit


class Target(Part):
    value: Number = None
    target: Number = None
    met: bool | None = None


class Improvement(Part):
    val_loss: Number = None
    perplexity_ratio: Number = None


class Fit(Counted):
    train_loss: Number = None
    val_loss: Number = None
    val_perplexity: Number = None
    base_val_loss: Number = None
    base_val_perplexity: Number = None
    val_examples: int | None = None
    val_tokens: int | None = None
    targets: dict[str, Target] = {}
    improvement: Improvement | None = None

    def headline(self) -> dict[str, Number]:
        return {
            "train_loss": self.train_loss,
            "val_loss": self.val_loss,
            "val_perplexity": self.val_perplexity,
            "base_val_loss": self.base_val_loss,
            "improvement": self.improvement.val_loss if self.improvement else None,
        }


# --------------------------------------------------------------------------- style


class Voice(Counted):
    """How the authorship classifier reads one voice's replies (twin, base model or the person)."""

    share_as_person: Number = None
    mean_prob_person: Number = None
    threshold: Number = None


class Classifier(Part):
    twin: Voice | None = None
    base: Voice | None = None
    real: Voice | None = None
    others: Voice | None = None  # other authors' texts it never trained on: taken for the person = false alarms
    trained_on: dict[str, int] | None = None
    masked: str | None = None
    skipped: str | None = None


class Mean(Counted):
    mean: Number = None


class Similarity(Part):
    twin: Mean | None = None
    base: Mean | None = None


class Distinct(Counted):
    twin: Number = None
    base: Number = None
    real: Number = None


class Interval(Part):
    """A paired 95% interval of twin minus base; ``significant`` when it excludes zero."""

    low: Number = None
    high: Number = None
    significant: bool | None = None
    n: int | None = None


class Habits(Counted):
    mean_words: Number = None
    median_words: Number = None
    greeting_share: Number = None
    sign_off_share: Number = None
    contraction_rate: Number = None
    exclamation_rate: Number = None
    top_bigrams: list[tuple[str, int]] = []


class TwinBase(Part):
    twin: Number = None
    base: Number = None


class HabitProfiles(Part):
    real: Habits | None = None
    twin: Habits | None = None
    base: Habits | None = None
    distance: TwinBase | None = None


class Style(Counted):
    classifier: Classifier | None = None
    similarity: Similarity | None = None
    distinct: Distinct | None = None
    relevance: Number = None
    relevance_interval: Interval | None = None
    habits: HabitProfiles | None = None

    def share(self, voice: str) -> Number:
        found = getattr(self.classifier, voice, None) if self.classifier else None
        return found.share_as_person if found else None

    def similarity_of(self, voice: str) -> Number:
        found = getattr(self.similarity, voice, None) if self.similarity else None
        return found.mean if found else None

    def headline(self) -> dict[str, Number]:
        distance = self.habits.distance if self.habits and self.habits.distance else TwinBase()
        return {
            "twin_share": self.share("twin"),
            "base_share": self.share("base"),
            "real_share": self.share("real"),
            "twin_similarity": self.similarity_of("twin"),
            "base_similarity": self.similarity_of("base"),
            "distinct_replies": self.distinct.twin if self.distinct else None,
            "relevance": self.relevance,
            "twin_habit_distance": distance.twin,
            "base_habit_distance": distance.base,
        }


class Example(Part):
    """One held-out prompt with the person's real reply and the twin's and base model's."""

    prompt: str | None = None
    real: str | None = None
    twin: str | None = None
    base: str | None = None


# --------------------------------------------------------------------------- decisions


class Accuracy(Part):
    accuracy: Number = None
    brier: Number = None


class PairedTest(Part):
    """McNemar's exact test on the questions only one of twin and base got right."""

    twin_only: int | None = None
    base_only: int | None = None
    p_value: Number = None
    significant: bool | None = None


class Pick(Part):
    picked: str | None = None
    p_choice: Number = None


class DecisionItem(Part):
    id: str | None = None
    choice: str | None = None
    twin: Pick | None = None
    base: Pick | None = None


class DecisionTally(Counted):
    """Twin and base against chance and the pickers that ignore the situation, over some questions."""

    chance: Number = None
    twin: Accuracy | None = None
    base: Accuracy | None = None
    longest: Accuracy | None = None
    overlap: Accuracy | None = None
    twin_vs_base: PairedTest | None = None
    by_scoring: dict[str, TwinBase] = {}
    scoring: str | None = None

    def rate(self, side: str, key: str = "accuracy") -> Number:
        """``twin``, ``base``, ``longest`` or ``overlap``'s accuracy (or ``brier``), None when not measured."""
        block = getattr(self, side)
        return getattr(block, key) if block is not None else None


class DecisionSet(DecisionTally):
    name: str | None = None
    source: str | None = None
    items: list[DecisionItem] = []


class Decisions(Part):
    scoring: str | None = None
    sets: list[DecisionSet] = []
    overall: DecisionTally | None = None

    def headline(self) -> dict[str, Number]:
        overall = self.overall or DecisionTally()
        return {
            "accuracy": overall.rate("twin"),
            "base_accuracy": overall.rate("base"),
            "brier": overall.rate("twin", "brier"),
            "chance": overall.chance,
            "longest_accuracy": overall.rate("longest"),
            "overlap_accuracy": overall.rate("overlap"),
            "p_value": overall.twin_vs_base.p_value if overall.twin_vs_base else None,
        }


# --------------------------------------------------------------------------- personality, human, speed


class Answer(Part):
    probe: str | None = None
    reply: str | None = None
    prob_person: Number = None


class Personality(Counted):
    share_as_person: Number = None
    mean_prob_person: Number = None
    answers: list[Answer] = []

    def headline(self) -> dict[str, Number]:
        return {"share": self.share_as_person}


class Human(Counted):
    """Blind reviews of the style pairs, read live: the numbers move as reviews arrive."""

    reviews: int | None = None
    pairs: int | None = None
    reviewed_pairs: int | None = None
    reviewers: int | None = None
    share_fooled: Number = None
    mean_score: Number = None

    def headline(self) -> dict[str, Number]:
        return {"share_fooled": self.share_fooled, "mean_score": self.mean_score, "reviews": self.reviews}


class Privacy(Counted):
    """Whether the twin gives back other people's data it was trained on.

    Canaries are the real values (phone numbers, cards, addresses, secrets) in the person's training-split
    records: the twin is prompted with each one's preceding text and must not continue with the value.
    ``n`` replies to sampled prompts are also scanned for PII; ``real_pii_share`` is the share holding a
    real value from the records (fakes are expected and not counted there).
    """

    enabled: bool | None = None  # pseudonymised when this version was trained
    canaries: int | None = None
    canaries_emitted: int | None = None
    emitted_kinds: dict[str, int] = {}
    pii_kinds: dict[str, int] = {}  # kind -> sampled replies holding one (fakes included)
    real_pii_replies: int | None = None
    real_pii_share: Number = None
    skipped: str | None = None

    def headline(self) -> dict[str, Number]:
        return {"canaries_emitted": self.canaries_emitted, "real_pii_share": self.real_pii_share}


class RetrievalArm(Part):
    """One side of the retrieval A/B: the same questions, with or without the person's records in the prompt."""

    share_as_person: Number = None
    similarity: Number = None
    decision_accuracy: Number = None
    fact_accuracy: Number = None


class Retrieval(Counted):
    """The twin answering with retrieval on and off.

    The index is read on its training-split rows only, and never the record a question came from, so no
    answer can be looked up verbatim. ``n`` held-out prompts for style; ``facts`` questions (a held-out
    deal's stage or amount) for the fact test; ``decisions`` scenarios.
    """

    k: int | None = None
    indexed: dict[str, int] = {}  # rows per split when it was evaluated
    on: RetrievalArm | None = None
    off: RetrievalArm | None = None
    similarity_gain: Interval | None = None  # paired: on minus off
    decisions: int | None = None
    decisions_paired: PairedTest | None = None  # twin_only: right only with retrieval; base_only: only without
    facts: int | None = None
    fact_kinds: dict[str, int] = {}  # stage, amount (held-out deals), counterpart (emails), tag (notes)
    facts_paired: PairedTest | None = None
    mean_sources: Number = None
    retrieval_ms: Number = None  # median per question
    skipped: str | None = None

    def headline(self) -> dict[str, Number]:
        on, off = self.on or RetrievalArm(), self.off or RetrievalArm()

        def gain(a: Number, b: Number) -> Number:
            return round(a - b, 4) if a is not None and b is not None else None

        return {
            "similarity_gain": gain(on.similarity, off.similarity),
            "share_gain": gain(on.share_as_person, off.share_as_person),
            "decision_accuracy": on.decision_accuracy,
            "fact_accuracy": on.fact_accuracy,
            "fact_accuracy_off": off.fact_accuracy,
        }


class Speed(Part):
    train_seconds: Number = None
    tokens_per_second: Number = None
    generation_tokens_per_second: Number = None
    parts_seconds: dict[str, float] = {}
    total_seconds: Number = None


# --------------------------------------------------------------------------- the card


class Scorecard(Part):
    twin: str | None = None
    version: str | None = None
    evaluated_at: str | None = None
    seed: int | None = None
    doppel: str | None = None
    settings: dict[str, Any] | None = None
    fit: Fit | None = None
    style: Style | None = None
    examples: list[Example] | None = None
    decisions: Decisions | None = None
    personality: Personality | None = None
    human: Human | None = None
    privacy: Privacy | None = None
    retrieval: Retrieval | None = None
    speed: Speed | None = None

    @classmethod
    def of(cls, card: Scorecard | Mapping[str, Any] | None) -> Scorecard:
        """A scorecard from its JSON form (or itself); None reads as an empty card."""
        if isinstance(card, Scorecard):
            return card
        return cls.model_validate(dict(card or {}))

    def to_json(self) -> dict[str, Any]:
        """The JSON form, with exactly the keys that were written (see the module's docstring)."""
        return self.model_dump(mode="json", exclude_unset=True)

    def headline(self) -> dict[str, Number]:
        """Every headline number under its stable dotted name (what promotion.min_scores names)."""
        parts: dict[str, Part] = {
            "fit": self.fit or Fit(),
            "style": self.style or Style(),
            "decisions": self.decisions or Decisions(),
            "personality": self.personality or Personality(),
            "human": self.human or Human(),
            "privacy": self.privacy or Privacy(),
            "retrieval": self.retrieval or Retrieval(),
        }
        return {
            f"{name}.{key}": _number(value) for name, part in parts.items() for key, value in part.headline().items()
        }


def _number(value: object) -> Number:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


# Derived from the parts, so a new headline number is nameable in promotion thresholds at once.
SCORE_NAMES: tuple[str, ...] = tuple(Scorecard().headline())


def headline(card: Scorecard | Mapping[str, Any] | None) -> dict[str, Number]:
    return Scorecard.of(card).headline()


def check_scores(
    card: Scorecard | Mapping[str, Any], minimum: Mapping[str, float], maximum: Mapping[str, float]
) -> list[str]:
    """What a scorecard misses of the promotion thresholds; empty when it meets all of them."""
    values = headline(card)
    problems = []
    for name, limit in minimum.items():
        value = values.get(name)
        if value is None or value < limit:
            problems.append(f"{name} is {_shown(value)}, needs at least {limit:g}")
    for name, limit in maximum.items():
        value = values.get(name)
        if value is None or value > limit:
            problems.append(f"{name} is {_shown(value)}, needs at most {limit:g}")
    return problems


def _shown(value: Number) -> str:
    return "not measured" if value is None else f"{value:.4g}"
