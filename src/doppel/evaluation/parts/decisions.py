"""Decisions: scenario files and the person's held-out closed deals, decided by the twin and by the base model.

Each is set beside chance and the pickers that ignore the situation (longest
option, word overlap with the person's training texts), with McNemar's test
for twin against base.
"""

from __future__ import annotations

import json
import statistics

from doppel.evaluation.setup import EvaluationSetup
from doppel.evaluation.stats import mean_or_none, rounded
from doppel.evaluation.style import sample_fields
from doppel.scorecard import Accuracy, DecisionItem, Decisions, DecisionSet, DecisionTally, PairedTest, Pick, TwinBase


class _ScoredOnce:
    """A backend that scores each prompt once, so every scoring method reads the same log-likelihoods.

    ``base_only``: the base model in the twin's place. Its own reference is itself, so its ``pmi`` is its
    ``pmi_self``, and it never sees what the adapter learned.
    """

    scores_base = True

    def __init__(self, backend, seen: dict, *, base_only: bool):
        self.backend = backend
        self.seen = seen  # shared by twin and base: the base model's neutral scores are computed once
        self.base_only = base_only

    def score(self, messages, options) -> list[float]:
        return self._once("base" if self.base_only else "twin", messages, options)

    def score_base(self, messages, options) -> list[float]:
        return self._once("base", messages, options)

    def _once(self, who: str, messages, options) -> list[float]:
        key = json.dumps([who, list(messages), list(options)])
        if key not in self.seen:
            score = self.backend.score_base if who == "base" else self.backend.score
            self.seen[key] = score(messages, options)
        return self.seen[key]


def run(setup: EvaluationSetup) -> Decisions:
    from doppel.evaluation.baselines import OverlapPicker, longest_pick
    from doppel.evaluation.scenarios import configured_sets, deal_scenarios
    from doppel.inference.backends.transformers import TransformersBackend
    from doppel.inference.decisions import (
        SCORINGS,
        decide_from_scores,
        decision_messages,
        neutral_messages,
        option_scores,
    )

    twin, prompter = setup.twin, setup.prompter
    cfg = twin.evaluation
    scoring = twin.inference.decision_scoring
    sets = configured_sets(cfg, twin.persona)
    if cfg.deal_scenarios and twin.sources.deals.enabled:
        derived = deal_scenarios(setup.records, cfg.deal_outcomes, setup.data.val_fraction)
        if derived.scenarios:
            sets.append(derived)
    backend = TransformersBackend(setup.local, prompter)
    overlap = OverlapPicker([e.target for e in setup.built.train])
    total = sum(len(s.scenarios) for s in sets)
    done = 0
    results, everything = [], _Tally()
    for scenario_set in sets:
        tally = _Tally()
        items = []
        for scenario in scenario_set.scenarios:
            options = scenario.options
            messages = decision_messages(twin.persona, scenario.context, options)
            neutral = neutral_messages(twin.persona, options)
            item = DecisionItem(id=scenario.id, choice=scenario.choice)
            seen: dict = {}
            for who in ("twin", "base"):
                once = _ScoredOnce(backend, seen, base_only=who == "base")
                # Every method, so the report shows what the others would have scored; the configured one
                # is the product's own scoring (`decide`), so its accuracy is the product's accuracy.
                by_method = {
                    m: option_scores(once, prompter, messages, options, scoring=m, neutral=neutral) for m in SCORINGS
                }
                for method, scores in by_method.items():
                    decision = decide_from_scores(options, scores, abstain_below=0.0)
                    right = decision.choice == scenario.choice
                    tally.methods[method][who].append(right)
                    if method == scoring:
                        brier = sum((p - (o == scenario.choice)) ** 2 for o, p in decision.probabilities.items())
                        tally.scored[who].append((right, brier))
                        pick = Pick(picked=decision.choice, p_choice=rounded(decision.probabilities[scenario.choice]))
                        setattr(item, who, pick)
            tally.baselines["chance"].append(1 / len(options))
            tally.baselines["longest"].append(longest_pick(options, scenario.choice))
            tally.baselines["overlap"].append(overlap.pick(options, scenario.choice))
            items.append(item)
            done += 1
            setup.progress("decisions", done, total)
        summary = tally.summary(scoring)
        written = {k: getattr(summary, k) for k in summary.model_fields_set}
        results.append(DecisionSet(name=scenario_set.name, source=scenario_set.source, **written, items=items))
        everything.add(tally)
    return Decisions(scoring=scoring, sets=results, overall=everything.summary(scoring))


class _Tally:
    """Per scenario: right or wrong for twin and base under each scoring, and the trivial pickers' shares."""

    def __init__(self):
        from doppel.inference.decisions import SCORINGS

        self.scored: dict[str, list[tuple[bool, float]]] = {"twin": [], "base": []}
        self.methods = {m: {"twin": [], "base": []} for m in SCORINGS}
        self.baselines: dict[str, list[float]] = {"chance": [], "longest": [], "overlap": []}

    def add(self, other: _Tally) -> None:
        for who in self.scored:
            self.scored[who] += other.scored[who]
        for method, picks in other.methods.items():
            for who in picks:
                self.methods[method][who] += picks[who]
        for name in self.baselines:
            self.baselines[name] += other.baselines[name]

    def summary(self, scoring: str) -> DecisionTally:
        from doppel.evaluation.baselines import mcnemar

        n = len(self.baselines["chance"])
        paired = mcnemar([ok for ok, _ in self.scored["twin"]], [ok for ok, _ in self.scored["base"]])
        return DecisionTally(
            chance=mean_or_none(self.baselines["chance"]),
            twin=_accuracy(self.scored["twin"]),
            base=_accuracy(self.scored["base"]),
            longest=Accuracy(accuracy=mean_or_none(self.baselines["longest"])),
            overlap=Accuracy(accuracy=mean_or_none(self.baselines["overlap"])),
            # McNemar's exact test on the scenarios where only one of twin and base was right.
            twin_vs_base=PairedTest(
                twin_only=paired["first_only"],
                base_only=paired["second_only"],
                p_value=rounded(paired["p_value"]) if n else None,
                significant=paired["significant"],
            ),
            by_scoring={
                m: TwinBase(**{who: mean_or_none(picks[who]) for who in picks}) for m, picks in self.methods.items()
            },
            scoring=scoring,
            **sample_fields(n),
        )


def _accuracy(scored: list[tuple[bool, float]]) -> Accuracy:
    if not scored:
        return Accuracy(accuracy=None, brier=None)
    return Accuracy(
        accuracy=rounded(sum(ok for ok, _ in scored) / len(scored)),
        brier=rounded(statistics.fmean(b for _, b in scored)),
    )
