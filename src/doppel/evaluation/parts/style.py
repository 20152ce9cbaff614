"""Style: the twin and the base model answer held-out prompts; their replies are set beside the person's real ones.

Three measures, each over the same prompts: an authorship classifier (person vs
other authors of the same database; prompt words blanked), MiniLM similarity to
the real reply (with a paired interval for twin minus base), and surface habits.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from doppel.evaluation.setup import EvaluationSetup
from doppel.evaluation.stats import distinct_share, mean_block, paired_interval, rounded, rounded_values
from doppel.evaluation.style import prompt_text, sample_fields
from doppel.scorecard import (
    Classifier,
    Distinct,
    Example,
    HabitProfiles,
    Habits,
    Similarity,
    Style,
    TwinBase,
    Voice,
)

EXAMPLES_IN_REPORT = 6
_ROUNDED_HABITS = (
    "mean_words",
    "median_words",
    "greeting_share",
    "sign_off_share",
    "contraction_rate",
    "exclamation_rate",
)


@dataclass
class StyleResult:
    style: Style
    examples: list[Example]
    pairs: list[dict]  # for blind review: prompt, history, real, twin and base replies


def run(setup: EvaluationSetup) -> StyleResult:
    from doppel.evaluation.replies import generate_replies

    cfg = setup.twin.evaluation
    classifier, trained_on = setup.classifier()
    chosen = style_prompts(setup.built, setup.prompter, setup.data.max_length, cfg.style_examples)
    conversations = [e.prompt_messages for e in chosen]
    done = [0]

    def tick(n):
        done[0] += n
        setup.progress("style", done[0], 2 * len(chosen))

    def replies():
        return generate_replies(
            setup.local.model,
            setup.prompter,
            conversations,
            max_new_tokens=cfg.max_new_tokens,
            batch_size=cfg.batch_size,
            on_batch=tick,
        )

    twin_replies = replies()
    with setup.local.base_model_only():
        base_replies = replies()
    setup.generated.add(twin_replies)
    real = [e.target for e in chosen]
    prompts = [prompt_text(e.prompt_messages) for e in chosen]
    style = score(
        classifier, trained_on, real, twin_replies.texts, base_replies.texts, prompts, others=setup.others_held_out
    )
    pairs = [
        {
            "pair_id": hashlib.sha256(e.key.encode()).hexdigest()[:12],
            "source": e.source,
            "prompt": e.prompt_messages[-1]["content"],
            "history": [m for m in e.prompt_messages[1:-1]],
            "real": e.target,
            "twin": twin_text,
            "base": base_text,
        }
        for e, twin_text, base_text in zip(chosen, twin_replies.texts, base_replies.texts)
    ]
    examples = [Example(**{k: p[k] for k in ("prompt", "real", "twin", "base")}) for p in pairs[:EXAMPLES_IN_REPORT]]
    return StyleResult(style, examples, pairs)


def style_prompts(built, prompter, max_length: int, limit: int) -> list:
    """Held-out examples whose prompt fits the length the twin was trained on, in the fixed hash order."""
    from doppel.dataset import fixed_val_set

    ordered = fixed_val_set(built.val, len(built.val))
    fitting = [e for e in ordered if prompter.count(e.prompt_messages) <= max_length - 16]
    return fitting[:limit]


def score(
    classifier,
    trained_on: dict,
    real: list[str],
    twin: list[str],
    base: list[str],
    prompts: list[str],
    *,
    others: list[str] = (),
) -> Style:
    """The style block for replies already written: classifier shares, similarity, distinctness and habits.
    ``others``: other authors' texts the classifier never saw (its false-alarm rate)."""
    from doppel.evaluation.similarity import Embedder, pairwise_similarity
    from doppel.evaluation.style import habit_distance, mask_prompt_words, surface_habits

    if classifier is not None:

        def judged(texts: list[str]) -> Voice:
            masked = [mask_prompt_words(t, p) for t, p in zip(texts, prompts, strict=True)]
            return Voice(**rounded_values(classifier.summary(masked)))

        verdicts = Classifier(
            twin=judged(twin),
            base=judged(base),
            real=judged(real),
            others=Voice(**rounded_values(classifier.summary(list(others)))) if others else None,
            trained_on=trained_on,
            # Content words of each prompt are blanked before judging: copying them is not style.
            masked="prompt words",
        )
    else:
        verdicts = Classifier(skipped="too few texts to fit the authorship classifier", trained_on=trained_on)
    embedder = Embedder()
    twin_pairs, base_pairs = pairwise_similarity(twin, real, embedder), pairwise_similarity(base, real, embedder)
    similarity = Similarity(twin=mean_block(twin_pairs), base=mean_block(base_pairs))
    twin_sim, base_sim = similarity.twin.mean, similarity.base.mean

    def habits_of(texts: list[str]) -> Habits:
        profile = surface_habits(texts)
        return Habits(**{k: (rounded(v) if k in _ROUNDED_HABITS else v) for k, v in profile.items()})

    habits = HabitProfiles(real=habits_of(real), twin=habits_of(twin), base=habits_of(base))
    habits.distance = TwinBase(
        twin=rounded(habit_distance(_raw(habits.twin), _raw(habits.real))),
        base=rounded(habit_distance(_raw(habits.base), _raw(habits.real))),
    )
    return Style(
        n=len(real),
        classifier=verdicts,
        similarity=similarity,
        # A twin that gives one memorised reply to everything can read as the person every time; these two
        # numbers stand beside the share so such a twin cannot score well: how many replies are its own, and
        # how much closer to the real reply than the base model's it gets.
        distinct=Distinct(
            twin=rounded(distinct_share(twin)),
            base=rounded(distinct_share(base)),
            real=rounded(distinct_share(real)),
            **sample_fields(len(real)),
        ),
        relevance=rounded(twin_sim - base_sim) if twin_sim is not None and base_sim is not None else None,
        relevance_interval=paired_interval(twin_pairs, base_pairs),
        habits=habits,
        small_sample=sample_fields(len(real))["small_sample"],
    )


def _raw(habits: Habits | None) -> dict:
    return habits.model_dump() if habits else {}
