"""Personality: fixed probe prompts answered by the twin, scored by the style classifier and kept for people to read."""

from __future__ import annotations

import statistics

from doppel.evaluation.setup import EvaluationSetup, probes_for
from doppel.evaluation.stats import rounded
from doppel.evaluation.style import sample_fields
from doppel.scorecard import Answer, Personality


def run(setup: EvaluationSetup) -> Personality:
    from doppel.evaluation.replies import generate_replies
    from doppel.inference.messages import chat_messages

    cfg = setup.twin.evaluation
    classifier, _ = setup.classifier()
    probes = probes_for(setup.twin)
    done = [0]

    def tick(n):
        done[0] += n
        setup.progress("personality", done[0], len(probes))

    replies = generate_replies(
        setup.local.model,
        setup.prompter,
        [chat_messages(setup.twin.persona, p) for p in probes],
        max_new_tokens=cfg.max_new_tokens,
        batch_size=cfg.batch_size,
        on_batch=tick,
    )
    setup.generated.add(replies)
    return score(classifier, probes, replies.texts)


def score(classifier, probes: list[str], replies: list[str]) -> Personality:
    probs = classifier.prob_person(replies) if classifier is not None else [None] * len(replies)
    scored = [p for p in probs if p is not None]
    return Personality(
        share_as_person=rounded(sum(p >= 0.5 for p in scored) / len(scored)) if scored else None,
        mean_prob_person=rounded(statistics.fmean(scored)) if scored else None,
        answers=[Answer(probe=q, reply=r, prob_person=rounded(p)) for q, r, p in zip(probes, replies, probs)],
        **sample_fields(len(probes)),
    )
