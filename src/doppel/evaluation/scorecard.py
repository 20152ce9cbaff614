"""The scorecard of one version: does the twin write and decide like the person?

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
- human: blind reviews of the style part's pairs (read live from the database,
  so the numbers move as reviews arrive).

Decoding is greedy and every random choice is seeded, so the same version,
data and seed give the same numbers.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import random
import statistics
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import torch

import doppel
from doppel.atomic import atomic_write_json
from doppel.config import SCORE_NAMES, Settings, TwinConfig
from doppel.db import Database
from doppel.evaluation.style import sample_fields
from doppel.registry import Registry, Version

log = logging.getLogger(__name__)

PARTS = ("fit", "style", "decisions", "personality")
EVALUATION_DIR = "evaluation"
SCORECARD_FILE = "scorecard.json"
REPORT_FILE = "report.html"
# The person's training-split texts the classifier learns from, at most (a sample beyond that).
MAX_PERSON_TEXTS = 2000
EXAMPLES_IN_REPORT = 6

Progress = Callable[[str, int, int], None]

GENERIC_PROBES = (
    "What matters most to you in your work?",
    "Someone asks you for a favour you can't do. What do you tell them?",
    "Write a short note to your team about the week ahead.",
    "How do you make a hard decision when the facts are unclear?",
    "What advice would you give someone starting in your job?",
    "A colleague missed a deadline that hurt you. What do you say to them?",
    "What do you do when a meeting is going nowhere?",
    "Describe how you like to work, in a few sentences.",
)


class EvaluationError(ValueError):
    """An evaluation that cannot run; the message says why."""


def evaluation_dir(version: Version) -> Path:
    return version.path / EVALUATION_DIR


def probes_for(twin: TwinConfig) -> list[str]:
    from doppel.evaluation.scenarios import is_demo_persona

    if twin.evaluation.probes is not None:
        return list(twin.evaluation.probes)
    if is_demo_persona(twin.persona):
        import yaml

        text = (resources.files("doppel.demo") / "probes.yaml").read_text()
        return [str(p) for p in yaml.safe_load(text)["probes"]]
    return list(GENERIC_PROBES)


def _rounded(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(float(value), digits)


def _mean_block(values: Sequence[float]) -> dict:
    return {"mean": _rounded(statistics.fmean(values)) if values else None, **sample_fields(len(values))}


def _version_training(version: Version, twin: TwinConfig) -> dict:
    """The data settings the version was trained with (its split must be the one evaluated)."""
    saved = version.read_json("config.json").get("training", {})
    return {
        key: saved.get(key, getattr(twin.training, key))
        for key in ("val_fraction", "min_chars", "max_length", "batch_size")
    }


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
) -> dict:
    """Score one version (default: final) and, with ``save``, keep the scorecard and report in its folder."""
    from doppel.dataset import read_splits
    from doppel.dataset.examples import build_examples
    from doppel.evaluation.replies import generate_replies
    from doppel.inference.backends.common import twin_prompter
    from doppel.inference.local import LocalTwin
    from doppel.sources import read_records
    from doppel.training.base_models import resolve_base_model

    unknown = [p for p in parts if p not in PARTS]
    if unknown:
        raise EvaluationError(f"unknown scorecard parts {unknown}; known: {', '.join(PARTS)}")
    twin = settings.twin(twin_name)
    cfg = twin.evaluation
    seed = cfg.seed if seed is None else seed
    found = Registry(settings.resolved_models_dir).get(twin.name, version or "final")
    data = _version_training(found, twin)
    progress = progress or (lambda part, done, total: None)
    db = db or Database(settings)
    db.ensure_schema()
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    torch.manual_seed(seed)

    timings: dict[str, float] = {}
    started = time.perf_counter()
    progress("collect", 0, 1)
    records = read_records(db, twin)
    # The version's own split: only what it never trained on is held out.
    built = build_examples(
        records,
        twin.persona,
        min_chars=data["min_chars"],
        val_fraction=data["val_fraction"],
        pinned=read_splits(found.path),
    )
    progress("collect", 1, 1)
    timings["collect"] = round(time.perf_counter() - started, 2)

    base = resolve_base_model(twin.base_model, settings.home)
    local = LocalTwin.from_version(base, found)
    if local.tokenizer.pad_token is None:
        local.tokenizer.pad_token = local.tokenizer.eos_token
    prompter = twin_prompter(settings, twin, found, local.tokenizer)
    card: dict = {
        "twin": twin.name,
        "version": found.name,
        "evaluated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "seed": seed,
        "doppel": doppel.__version__,
        "settings": {
            "style_examples": cfg.style_examples,
            "max_new_tokens": cfg.max_new_tokens,
            "other_texts": cfg.other_texts,
            "parts": list(parts),
        },
    }
    generated_tokens, generated_seconds = 0, 0.0

    def timed(part: str, fn):
        t0 = time.perf_counter()
        result = fn()
        timings[part] = round(time.perf_counter() - t0, 2)
        return result

    if "fit" in parts:
        card["fit"] = timed("fit", lambda: _fit(local, found, built, twin, data, progress))

    classifier = None
    if "style" in parts or "personality" in parts:
        classifier, trained_on = timed("classifier", lambda: _classifier(db, twin, built, data, seed))

    pairs: list[dict] = []
    if "style" in parts:

        def style():
            nonlocal generated_tokens, generated_seconds
            chosen = _style_prompts(built, prompter, data["max_length"], cfg.style_examples)
            conversations = [e.prompt_messages for e in chosen]
            done = [0]

            def tick(n):
                done[0] += n
                progress("style", done[0], 2 * len(chosen))

            def replies():
                return generate_replies(
                    local.model,
                    prompter,
                    conversations,
                    max_new_tokens=cfg.max_new_tokens,
                    batch_size=cfg.batch_size,
                    on_batch=tick,
                )

            twin_replies = replies()
            with local.base_model_only():
                base_replies = replies()
            generated_tokens += twin_replies.new_tokens
            generated_seconds += twin_replies.seconds
            real = [e.target for e in chosen]
            prompts = [_prompt_text(e.prompt_messages) for e in chosen]
            section = _style(classifier, trained_on, real, twin_replies.texts, base_replies.texts, prompts)
            for e, twin_text, base_text in zip(chosen, twin_replies.texts, base_replies.texts):
                pairs.append(
                    {
                        "pair_id": hashlib.sha256(e.key.encode()).hexdigest()[:12],
                        "source": e.source,
                        "prompt": e.prompt_messages[-1]["content"],
                        "history": [m for m in e.prompt_messages[1:-1]],
                        "real": e.target,
                        "twin": twin_text,
                        "base": base_text,
                    }
                )
            return section

        card["style"] = timed("style", style)
        card["examples"] = [{k: p[k] for k in ("prompt", "real", "twin", "base")} for p in pairs[:EXAMPLES_IN_REPORT]]

    if "decisions" in parts:
        person_texts = [e.target for e in built.train]
        card["decisions"] = timed(
            "decisions", lambda: _decisions(settings, twin, local, prompter, records, person_texts, data, progress)
        )

    if "personality" in parts:

        def personality():
            nonlocal generated_tokens, generated_seconds
            from doppel.inference.messages import chat_messages

            probes = probes_for(twin)
            done = [0]

            def tick(n):
                done[0] += n
                progress("personality", done[0], len(probes))

            replies = generate_replies(
                local.model,
                prompter,
                [chat_messages(twin.persona, p) for p in probes],
                max_new_tokens=cfg.max_new_tokens,
                batch_size=cfg.batch_size,
                on_batch=tick,
            )
            generated_tokens += replies.new_tokens
            generated_seconds += replies.seconds
            return _personality(classifier, probes, replies.texts)

        card["personality"] = timed("personality", personality)

    metrics = found.metrics
    card["speed"] = {
        "train_seconds": metrics.get("train_seconds"),
        "tokens_per_second": metrics.get("tokens_per_second"),
        "generation_tokens_per_second": round(generated_tokens / generated_seconds, 1) if generated_seconds else None,
        "parts_seconds": timings,
        "total_seconds": round(time.perf_counter() - started, 2),
    }
    local.model = None
    if save:
        folder = evaluation_dir(found)
        from doppel.evaluation.reviews import save_pairs

        if pairs:
            save_pairs(folder, [{k: v for k, v in p.items() if k != "base"} for p in pairs])
        _write_json(folder / SCORECARD_FILE, card)
        card = with_human(card, db, found)
        write_report_for(settings, twin.name, found, card)
        # A dated copy per evaluation: the monthly job's history of final, kept beside the versions.
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        history = Registry(settings.resolved_models_dir).twin_dir(twin.name) / "evaluations"
        _write_json(history / f"{found.name}-{stamp}.json", card)
        card["path"] = str(folder / SCORECARD_FILE)
        card["report"] = str(folder / REPORT_FILE)
    return card


def _write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(path, data, indent=2, default=str)


# --------------------------------------------------------------------------- parts


def _fit(local, version: Version, built, twin: TwinConfig, data: dict, progress: Progress) -> dict:
    from doppel.dataset import fixed_val_set
    from doppel.dataset.tokenize import encode
    from doppel.training.perplexity import SEED_TARGETS, evaluate_loss

    val_examples = fixed_val_set(built.val, twin.promotion.gate_examples)
    val = [encode(local.tokenizer, e, data["max_length"]) for e in val_examples]
    progress("fit", 0, 2)
    reused = _losses_from_training(version.metrics, val_examples, val)
    if reused is not None:
        # Training scored twin and base on exactly this set already; scoring them again would change nothing.
        twin_loss, base_loss = reused
    else:
        twin_loss = evaluate_loss(local.model, val, batch_size=data["batch_size"])
        progress("fit", 1, 2)
        with local.base_model_only():
            base_loss = evaluate_loss(local.model, val, batch_size=data["batch_size"])
    progress("fit", 2, 2)
    train_loss = version.metrics.get("train_loss")
    values = {
        "train_loss": train_loss,
        "val_loss": twin_loss.loss if twin_loss else None,
        "val_perplexity": twin_loss.perplexity if twin_loss else None,
    }
    fit = {
        **{k: _rounded(v) for k, v in values.items()},
        "base_val_loss": _rounded(base_loss.loss) if base_loss else None,
        "base_val_perplexity": _rounded(base_loss.perplexity) if base_loss else None,
        "val_examples": twin_loss.examples if twin_loss else 0,
        "val_tokens": twin_loss.tokens if twin_loss else 0,
        **sample_fields(twin_loss.examples if twin_loss else 0),
        "targets": {
            k: {"value": _rounded(values[k]), "target": limit, "met": values[k] is not None and values[k] < limit}
            for k, limit in SEED_TARGETS.items()
        },
    }
    if twin_loss and base_loss:
        fit["improvement"] = {
            "val_loss": _rounded(base_loss.loss - twin_loss.loss),
            "perplexity_ratio": _rounded(base_loss.perplexity / twin_loss.perplexity),
        }
    return fit


def _losses_from_training(metrics: dict, val_examples, val) -> tuple | None:
    """The twin's and the base model's val losses from the version's own training, when measured on this same set."""
    from doppel.dataset import val_set_digest
    from doppel.training.perplexity import LossResult

    tokens = sum(t.n_target for t in val)
    if (
        metrics.get("val_set") != val_set_digest(val_examples)
        or metrics.get("val_tokens") != tokens
        or metrics.get("val_loss") is None
        or metrics.get("base_val_loss") is None
    ):
        return None
    return (LossResult(metrics["val_loss"], tokens, len(val)), LossResult(metrics["base_val_loss"], tokens, len(val)))


def _classifier(db: Database, twin: TwinConfig, built, data: dict, seed: int):
    from doppel.evaluation.style import MIN_TEXTS_PER_SIDE, AuthorshipClassifier
    from doppel.sources.others import collect_others

    person = [e.target for e in built.train]
    if len(person) > MAX_PERSON_TEXTS:
        person = random.Random(seed).sample(person, MAX_PERSON_TEXTS)
    with db.connection() as conn:
        others = collect_others(conn, twin, twin.evaluation.other_texts, min_chars=data["min_chars"], seed=seed)
    trained_on = {"person": len(person), "others": len(others)}
    if len(person) < MIN_TEXTS_PER_SIDE or len(others) < MIN_TEXTS_PER_SIDE:
        log.warning(
            "style classifier skipped: %s person texts and %s texts by others (need %s each)",
            len(person),
            len(others),
            MIN_TEXTS_PER_SIDE,
        )
        return None, trained_on
    return AuthorshipClassifier().fit(person, others, seed=seed), trained_on


def _style_prompts(built, prompter, max_length: int, limit: int) -> list:
    """Held-out examples whose prompt fits the length the twin was trained on, in the fixed hash order."""
    from doppel.dataset import fixed_val_set

    ordered = fixed_val_set(built.val, len(built.val))
    fitting = [e for e in ordered if prompter.count(e.prompt_messages) <= max_length - 16]
    return fitting[:limit]


def _prompt_text(messages) -> str:
    """Everything the writer was shown apart from the system message."""
    return "\n".join(m["content"] for m in messages if m["role"] != "system")


def _style(classifier, trained_on: dict, real: list[str], twin: list[str], base: list[str], prompts: list[str]) -> dict:
    from doppel.evaluation.similarity import Embedder, pairwise_similarity
    from doppel.evaluation.style import habit_distance, mask_prompt_words, surface_habits

    section: dict = {"n": len(real)}
    if classifier is not None:

        def judged(texts: list[str]) -> dict:
            masked = [mask_prompt_words(t, p) for t, p in zip(texts, prompts, strict=True)]
            return _rounded_summary(classifier.summary(masked))

        section["classifier"] = {
            "twin": judged(twin),
            "base": judged(base),
            "real": judged(real),
            "trained_on": trained_on,
            # Content words of each prompt are blanked before judging: copying them is not style.
            "masked": "prompt words",
        }
    else:
        section["classifier"] = {"skipped": "too few texts to fit the authorship classifier", "trained_on": trained_on}
    embedder = Embedder()
    twin_pairs, base_pairs = pairwise_similarity(twin, real, embedder), pairwise_similarity(base, real, embedder)
    section["similarity"] = {"twin": _mean_block(twin_pairs), "base": _mean_block(base_pairs)}
    # A twin that gives one memorised reply to everything can read as the person every time; these two
    # numbers stand beside the share so such a twin cannot score well: how many replies are its own, and
    # how much closer to the real reply than the base model's it gets.
    section["distinct"] = {
        "twin": _rounded(distinct_share(twin)),
        "base": _rounded(distinct_share(base)),
        "real": _rounded(distinct_share(real)),
        **sample_fields(len(real)),
    }
    twin_sim, base_sim = section["similarity"]["twin"]["mean"], section["similarity"]["base"]["mean"]
    section["relevance"] = _rounded(twin_sim - base_sim) if twin_sim is not None and base_sim is not None else None
    section["relevance_interval"] = _paired_interval(twin_pairs, base_pairs)
    habits = {"real": surface_habits(real), "twin": surface_habits(twin), "base": surface_habits(base)}
    for profile in habits.values():
        for key in (
            "mean_words",
            "median_words",
            "greeting_share",
            "sign_off_share",
            "contraction_rate",
            "exclamation_rate",
        ):
            profile[key] = _rounded(profile[key])
    habits["distance"] = {
        "twin": _rounded(habit_distance(habits["twin"], habits["real"])),
        "base": _rounded(habit_distance(habits["base"], habits["real"])),
    }
    section["habits"] = habits
    section.update(sample_fields(len(real)))
    return section


def _paired_interval(twin: Sequence[float], base: Sequence[float]) -> dict | None:
    """A 95% interval for the mean twin-minus-base difference over the same prompts (normal approximation).

    With a few dozen held-out prompts the difference moves by several hundredths between runs; the
    interval says whether the sign can be trusted.
    """
    diffs = [t - b for t, b in zip(twin, base, strict=True)]
    if len(diffs) < 2:
        return None
    mean, spread = statistics.fmean(diffs), 1.96 * statistics.stdev(diffs) / math.sqrt(len(diffs))
    low, high = mean - spread, mean + spread
    return {"low": _rounded(low), "high": _rounded(high), "significant": low > 0 or high < 0, "n": len(diffs)}


def distinct_share(replies: Sequence[str]) -> float | None:
    """The share of replies no other reply repeats (after folding case and whitespace)."""
    if not replies:
        return None
    counts = Counter(" ".join(r.casefold().split()) for r in replies)
    return sum(1 for r in replies if counts[" ".join(r.casefold().split())] == 1) / len(replies)


def _rounded_summary(summary: dict) -> dict:
    return {k: (_rounded(v) if isinstance(v, float) else v) for k, v in summary.items()}


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


def _decisions(
    settings: Settings,
    twin: TwinConfig,
    local,
    prompter,
    records,
    person_texts: list[str],
    data: dict,
    progress: Progress,
) -> dict:
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

    cfg = twin.evaluation
    scoring = twin.inference.decision_scoring
    sets = configured_sets(cfg, twin.persona)
    if cfg.deal_scenarios and twin.sources.deals.enabled:
        derived = deal_scenarios(records, cfg.deal_outcomes, data["val_fraction"])
        if derived.scenarios:
            sets.append(derived)
    backend = TransformersBackend(local, prompter)
    overlap = OverlapPicker(person_texts)
    total = sum(len(s.scenarios) for s in sets)
    done = 0
    results, everything = [], _DecisionTally()
    for scenario_set in sets:
        tally = _DecisionTally()
        items = []
        for scenario in scenario_set.scenarios:
            options = scenario.options
            messages = decision_messages(twin.persona, scenario.context, options)
            neutral = neutral_messages(twin.persona, options)
            item = {"id": scenario.id, "choice": scenario.choice}
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
                        item[who] = {
                            "picked": decision.choice,
                            "p_choice": _rounded(decision.probabilities[scenario.choice]),
                        }
            tally.baselines["chance"].append(1 / len(options))
            tally.baselines["longest"].append(longest_pick(options, scenario.choice))
            tally.baselines["overlap"].append(overlap.pick(options, scenario.choice))
            items.append(item)
            done += 1
            progress("decisions", done, total)
        results.append(
            {"name": scenario_set.name, "source": scenario_set.source, **tally.summary(scoring), "items": items}
        )
        everything.add(tally)
    return {"scoring": scoring, "sets": results, "overall": everything.summary(scoring)}


class _DecisionTally:
    """Per scenario: right or wrong for twin and base under each scoring, and the trivial pickers' shares."""

    def __init__(self):
        from doppel.inference.decisions import SCORINGS

        self.scored: dict[str, list[tuple[bool, float]]] = {"twin": [], "base": []}
        self.methods = {m: {"twin": [], "base": []} for m in SCORINGS}
        self.baselines: dict[str, list[float]] = {"chance": [], "longest": [], "overlap": []}

    def add(self, other: _DecisionTally) -> None:
        for who in self.scored:
            self.scored[who] += other.scored[who]
        for method, picks in other.methods.items():
            for who in picks:
                self.methods[method][who] += picks[who]
        for name in self.baselines:
            self.baselines[name] += other.baselines[name]

    def summary(self, scoring: str) -> dict:
        from doppel.evaluation.baselines import mcnemar

        n = len(self.baselines["chance"])
        paired = mcnemar([ok for ok, _ in self.scored["twin"]], [ok for ok, _ in self.scored["base"]])
        return {
            "chance": _mean_or_none(self.baselines["chance"]),
            "twin": _accuracy(self.scored["twin"]),
            "base": _accuracy(self.scored["base"]),
            "longest": {"accuracy": _mean_or_none(self.baselines["longest"])},
            "overlap": {"accuracy": _mean_or_none(self.baselines["overlap"])},
            # McNemar's exact test on the scenarios where only one of twin and base was right.
            "twin_vs_base": {
                "twin_only": paired["first_only"],
                "base_only": paired["second_only"],
                "p_value": _rounded(paired["p_value"]) if n else None,
                "significant": paired["significant"],
            },
            "by_scoring": {m: {who: _mean_or_none(picks[who]) for who in picks} for m, picks in self.methods.items()},
            "scoring": scoring,
            **sample_fields(n),
        }


def _mean_or_none(values: Sequence[float]) -> float | None:
    return _rounded(statistics.fmean(values)) if values else None


def _accuracy(scored: list[tuple[bool, float]]) -> dict:
    if not scored:
        return {"accuracy": None, "brier": None}
    return {
        "accuracy": _rounded(sum(ok for ok, _ in scored) / len(scored)),
        "brier": _rounded(statistics.fmean(b for _, b in scored)),
    }


def _personality(classifier, probes: list[str], replies: list[str]) -> dict:
    probs = classifier.prob_person(replies) if classifier is not None else [None] * len(replies)
    scored = [p for p in probs if p is not None]
    return {
        "share_as_person": _rounded(sum(p >= 0.5 for p in scored) / len(scored)) if scored else None,
        "mean_prob_person": _rounded(statistics.fmean(scored)) if scored else None,
        "answers": [{"probe": q, "reply": r, "prob_person": _rounded(p)} for q, r, p in zip(probes, replies, probs)],
        **sample_fields(len(probes)),
    }


# --------------------------------------------------------------------------- reading


def with_human(card: dict, db: Database, version: Version) -> dict:
    """The scorecard with the human section as it stands now (reviews keep arriving after an evaluation)."""
    from doppel.evaluation.reviews import PAIRS_FILE, human_summary, load_pairs

    folder = evaluation_dir(version)
    total = len(load_pairs(folder)["pairs"]) if (folder / PAIRS_FILE).is_file() else 0
    return {**card, "human": human_summary(db, version.twin, version.name, total)}


def load_scorecard(settings: Settings, twin: str, version: str = "final", db: Database | None = None) -> dict:
    found = Registry(settings.resolved_models_dir).get(twin, version)
    path = evaluation_dir(found) / SCORECARD_FILE
    if not path.is_file():
        raise EvaluationError(f"{twin} {found.name} has not been evaluated yet (doppel eval {found.name})")
    card = json.loads(path.read_text())
    return with_human(card, db or Database(settings), found)


def saved_scorecard(version: Version) -> dict | None:
    path = evaluation_dir(version) / SCORECARD_FILE
    return json.loads(path.read_text()) if path.is_file() else None


def scorecard_summary(version: Version, db: Database) -> dict | None:
    """A few headline numbers of a version's saved scorecard (human numbers live), or None if unevaluated."""
    card = saved_scorecard(version)
    if card is None:
        return None
    numbers = headline(with_human(card, db, version))
    return {
        "evaluated_at": card.get("evaluated_at"),
        "val_loss": numbers["fit.val_loss"],
        "style_share": numbers["style.twin_share"],
        "base_style_share": numbers["style.base_share"],
        "similarity": numbers["style.twin_similarity"],
        "distinct_replies": numbers["style.distinct_replies"],
        "relevance": numbers["style.relevance"],
        "decision_accuracy": numbers["decisions.accuracy"],
        "human_share_fooled": numbers["human.share_fooled"],
        "human_mean_score": numbers["human.mean_score"],
        "human_reviews": numbers["human.reviews"],
    }


def headline(card: dict | None) -> dict[str, float | None]:
    """The scorecard's numbers under their stable dotted names (what promotion.min_scores / max_scores name)."""
    card = card or {}

    def get(*path):
        node = card
        for key in path:
            if not isinstance(node, dict) or key not in node:
                return None
            node = node[key]
        return node if isinstance(node, (int, float)) and not isinstance(node, bool) else None

    values = {
        "fit.train_loss": get("fit", "train_loss"),
        "fit.val_loss": get("fit", "val_loss"),
        "fit.val_perplexity": get("fit", "val_perplexity"),
        "fit.base_val_loss": get("fit", "base_val_loss"),
        "fit.improvement": get("fit", "improvement", "val_loss"),
        "style.twin_share": get("style", "classifier", "twin", "share_as_person"),
        "style.base_share": get("style", "classifier", "base", "share_as_person"),
        "style.real_share": get("style", "classifier", "real", "share_as_person"),
        "style.twin_similarity": get("style", "similarity", "twin", "mean"),
        "style.base_similarity": get("style", "similarity", "base", "mean"),
        "style.distinct_replies": get("style", "distinct", "twin"),
        "style.relevance": get("style", "relevance"),
        "style.twin_habit_distance": get("style", "habits", "distance", "twin"),
        "style.base_habit_distance": get("style", "habits", "distance", "base"),
        "decisions.accuracy": get("decisions", "overall", "twin", "accuracy"),
        "decisions.base_accuracy": get("decisions", "overall", "base", "accuracy"),
        "decisions.brier": get("decisions", "overall", "twin", "brier"),
        "decisions.chance": get("decisions", "overall", "chance"),
        "decisions.longest_accuracy": get("decisions", "overall", "longest", "accuracy"),
        "decisions.overlap_accuracy": get("decisions", "overall", "overlap", "accuracy"),
        "decisions.p_value": get("decisions", "overall", "twin_vs_base", "p_value"),
        "personality.share": get("personality", "share_as_person"),
        "human.share_fooled": get("human", "share_fooled"),
        "human.mean_score": get("human", "mean_score"),
        "human.reviews": get("human", "reviews"),
    }
    assert set(values) == set(SCORE_NAMES), "SCORE_NAMES in config.py must list every headline number"
    return values


def check_scores(card: dict, minimum: dict[str, float], maximum: dict[str, float]) -> list[str]:
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


def _shown(value: float | None) -> str:
    return "not measured" if value is None else f"{value:.4g}"


def write_report_for(settings: Settings, twin: str, version: Version, card: dict) -> Path:
    """Render the version's HTML report with every earlier evaluated version as history."""
    from doppel.evaluation.report import render_report, write_report

    history = []
    for other in Registry(settings.resolved_models_dir).versions(twin):
        saved = card if other.name == version.name else saved_scorecard(other)
        if saved is not None:
            history.append(saved)
    path = evaluation_dir(version) / REPORT_FILE
    write_report(path, render_report(card, history=history, metrics=version.metrics))
    return path
