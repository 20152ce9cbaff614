"""Scoring one version: setup -> parts -> save.

Parts (each timed, each number with the count it rests on):

- fit: train loss (from training), val loss and perplexity of the twin and of
  the bare base model on the fixed validation set, against the seed's targets;
- style: the twin and the base model answer held-out prompts (validation split
  only: the model never saw those answers); their replies and the person's
  real ones are scored by an authorship classifier fitted on the person's
  training-split text vs. other authors' text from the same database, by
  MiniLM similarity to the real reply, and by surface habits;
- decisions: scenario files and the person's held-out closed deals, decided by
  the twin and by the base model: accuracy and Brier score;
- personality: fixed probe prompts answered by the twin, scored by the style
  classifier and kept for people to read;
- privacy: the extraction test (real values from the training split, prompted
  with their preceding text, must not come out) and PII in sampled replies;
- human: blind reviews of the style part's pairs (read live from the database,
  so the numbers move as reviews arrive).

Decoding is greedy and every random choice is seeded, so the same version,
data and seed give the same numbers.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TypeVar

import doppel
from doppel.config import Settings
from doppel.db import Database
from doppel.evaluation import store
from doppel.evaluation.setup import Progress, prepare
from doppel.evaluation.store import EvaluationError
from doppel.scorecard import Scorecard, Speed

PARTS = ("fit", "style", "decisions", "personality", "privacy", "retrieval")

T = TypeVar("T")


def evaluate_version(
    settings: Settings,
    twin_name: str | None = None,
    version: str | None = None,
    *,
    db: Database | None = None,
    seed: int | None = None,
    parts: Sequence[str] = PARTS,
    progress: Progress | None = None,
    save: bool = True,
) -> Scorecard:
    """Score one version (default: final) and, with ``save``, keep the scorecard and report in its folder."""
    from doppel.evaluation.parts import decisions, fit, personality, privacy, retrieval, style

    unknown = [p for p in parts if p not in PARTS]
    if unknown:
        raise EvaluationError(f"unknown scorecard parts {unknown}; known: {', '.join(PARTS)}")
    started = time.perf_counter()
    setup = prepare(settings, twin_name, version, db=db, seed=seed, progress=progress)
    cfg = setup.twin.evaluation
    timings: dict[str, float] = {"collect": setup.collect_seconds}

    def timed(part: str, fn: Callable[[], T]) -> T:
        t0 = time.perf_counter()
        result = fn()
        timings[part] = round(time.perf_counter() - t0, 2)
        return result

    card = Scorecard(
        twin=setup.twin.name,
        version=setup.version.name,
        evaluated_at=datetime.now(UTC).isoformat(timespec="seconds"),
        seed=setup.seed,
        doppel=doppel.__version__,
        settings={
            "style_examples": cfg.style_examples,
            "max_new_tokens": cfg.max_new_tokens,
            "other_texts": cfg.other_texts,
            "parts": list(parts),
        },
    )
    if "fit" in parts:
        card.fit = timed("fit", lambda: fit.run(setup))
    if "style" in parts or "personality" in parts:
        timed("classifier", setup.classifier)
    pairs: list[dict] = []
    if "style" in parts:
        written = timed("style", lambda: style.run(setup))
        card.style, card.examples, pairs = written.style, written.examples, written.pairs
    if "decisions" in parts:
        card.decisions = timed("decisions", lambda: decisions.run(setup))
    if "personality" in parts:
        card.personality = timed("personality", lambda: personality.run(setup))
    if "retrieval" in parts:
        # After style and decisions: their twin answers are the "off" side, so only "on" is generated here.
        card.retrieval = timed("retrieval", lambda: retrieval.run(setup, pairs, card.decisions))
    if "privacy" in parts:
        # The replies the other parts generated count toward the sample; only the rest is generated.
        already = [p["twin"] for p in pairs if p.get("twin")]
        already += [a.reply for a in (card.personality.answers if card.personality else []) if a.reply]
        card.privacy = timed("privacy", lambda: privacy.run(setup, already))

    metrics = setup.version.metrics
    card.speed = Speed(
        train_seconds=metrics.get("train_seconds"),
        tokens_per_second=metrics.get("tokens_per_second"),
        generation_tokens_per_second=setup.generated.tokens_per_second,
        parts_seconds=timings,
        total_seconds=round(time.perf_counter() - started, 2),
    )
    setup.local.model = None
    if save:
        card = store.save(settings, setup.version, card, pairs, setup.db)
    return card
