"""What every scorecard part reads: the version, its own held-out split, the loaded model, the classifier.

An evaluation runs setup -> parts -> save (``doppel.evaluation.evaluate``);
this module is the first step. The setup is built once and handed to each
part, so the parts share one loaded model, one split and one classifier.
"""

from __future__ import annotations

import logging
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources

import torch

from doppel.config import Settings, TwinConfig
from doppel.dataset.examples import BuildResult
from doppel.db import Database
from doppel.privacy.records import Protected
from doppel.registry import Registry, Version
from doppel.sources import Record

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]

# The person's training-split texts the classifier learns from, at most (a sample beyond that).
MAX_PERSON_TEXTS = 2000

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


@dataclass(frozen=True)
class VersionData:
    """The data settings the version was trained with: its split, not today's config, is the one evaluated."""

    val_fraction: float
    min_chars: int
    max_length: int
    batch_size: int

    @classmethod
    def of(cls, version: Version, twin: TwinConfig) -> VersionData:
        saved = version.read_json("config.json").get("training", {})
        return cls(**{key: saved.get(key, getattr(twin.training, key)) for key in cls.__dataclass_fields__})


@dataclass
class Generated:
    """Tokens the twin generated during the evaluation and the seconds it took (the speed part's number)."""

    tokens: int = 0
    seconds: float = 0.0

    def add(self, replies) -> None:
        self.tokens += replies.new_tokens
        self.seconds += replies.seconds

    @property
    def tokens_per_second(self) -> float | None:
        return round(self.tokens / self.seconds, 1) if self.seconds else None


@dataclass
class EvaluationSetup:
    settings: Settings
    twin: TwinConfig
    version: Version
    data: VersionData
    db: Database
    seed: int
    records: list[Record]
    built: BuildResult
    local: object  # doppel.inference.local.LocalTwin
    prompter: object  # doppel.inference.prompting.Prompter
    progress: Progress
    collect_seconds: float = 0.0
    protected: Protected | None = None  # the records before privacy, and the pseudonymiser the version used
    generated: Generated = field(default_factory=Generated)
    _classifier: tuple | None = None
    # Other authors' texts kept out of the classifier's training: how often it takes them for the person.
    others_held_out: list[str] = field(default_factory=list)

    def classifier(self):
        """(the authorship classifier or None when too few texts, what it was trained on); fitted once."""
        if self._classifier is None:
            self._classifier = _fit_classifier(self)
        return self._classifier


def prepare(
    settings: Settings,
    twin_name: str | None,
    version: str | None,
    *,
    db: Database | None,
    seed: int | None,
    progress: Progress | None,
) -> EvaluationSetup:
    """Load the version and rebuild its own split: only what it never trained on is held out."""
    from doppel.dataset import read_splits
    from doppel.dataset.examples import build_examples
    from doppel.inference.backends.common import twin_prompter
    from doppel.inference.local import LocalTwin
    from doppel.privacy.prepare import prepare_records, version_privacy
    from doppel.sources import read_records
    from doppel.training.base_models import resolve_base_model

    twin = settings.twin(twin_name)
    seed = twin.evaluation.seed if seed is None else seed
    found = Registry(settings.resolved_models_dir).get(twin.name, version or "final")
    data = VersionData.of(found, twin)
    progress = progress or (lambda part, done, total: None)
    db = db or Database(settings)
    db.ensure_schema()
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    torch.manual_seed(seed)

    started = time.perf_counter()
    progress("collect", 0, 1)
    # The version's own privacy settings and the twin's key: the same fakes it was trained on.
    protected = prepare_records(
        settings, twin, db, read_records(db, twin), privacy=version_privacy(found.read_json("config.json"))
    )
    records = protected.records
    built = build_examples(
        records,
        twin.persona,
        min_chars=data.min_chars,
        val_fraction=data.val_fraction,
        pinned=read_splits(found.path),
    )
    progress("collect", 1, 1)
    collect_seconds = round(time.perf_counter() - started, 2)

    local = LocalTwin.from_version(resolve_base_model(twin.base_model, settings.home), found)
    if local.tokenizer.pad_token is None:
        local.tokenizer.pad_token = local.tokenizer.eos_token
    prompter = twin_prompter(settings, twin, found, local.tokenizer)
    return EvaluationSetup(
        settings, twin, found, data, db, seed, records, built, local, prompter, progress, collect_seconds, protected
    )


def probes_for(twin: TwinConfig) -> list[str]:
    from doppel.evaluation.scenarios import is_demo_persona

    if twin.evaluation.probes is not None:
        return list(twin.evaluation.probes)
    if is_demo_persona(twin.persona):
        import yaml

        text = (resources.files("doppel.demo") / "probes.yaml").read_text()
        return [str(p) for p in yaml.safe_load(text)["probes"]]
    return list(GENERIC_PROBES)


def _fit_classifier(setup: EvaluationSetup) -> tuple:
    from doppel.evaluation.style import MIN_TEXTS_PER_SIDE, AuthorshipClassifier, mask_prompt_words, prompt_text
    from doppel.sources.others import collect_others

    examples = list(setup.built.train)
    if len(examples) > MAX_PERSON_TEXTS:
        examples = random.Random(setup.seed).sample(examples, MAX_PERSON_TEXTS)
    # Masked as the replies it will judge are (prompt words blanked), so a blank says nothing about who wrote it.
    person = [mask_prompt_words(e.target, prompt_text(e.prompt_messages)) for e in examples]
    with setup.db.crm.connection() as conn:
        others = collect_others(
            conn, setup.twin, setup.twin.evaluation.other_texts, min_chars=setup.data.min_chars, seed=setup.seed
        )
    if setup.protected is not None and setup.protected.pseudonymiser is not None:
        # Other authors' texts as the person's were trained on: fakes in both, so fakes tell nothing.
        others = [setup.protected.pseudonymiser.text(t, "others") for t in others]
    # A tenth of the other authors' texts never trains the judge: its false-alarm rate on people it has not
    # seen is reported beside the shares, so a judge that takes anyone for the person shows it.
    if len(others) >= 10 * MIN_TEXTS_PER_SIDE:
        others = random.Random(setup.seed).sample(others, len(others))
        cut = len(others) // 10
        setup.others_held_out, others = others[:cut], others[cut:]
    trained_on = {"person": len(person), "others": len(others)}
    if len(person) < MIN_TEXTS_PER_SIDE or len(others) < MIN_TEXTS_PER_SIDE:
        log.warning(
            "style classifier skipped: %s person texts and %s texts by others (need %s each)",
            len(person),
            len(others),
            MIN_TEXTS_PER_SIDE,
        )
        return None, trained_on
    machine = _machine_texts(setup)
    if machine:
        trained_on["base_model"] = len(machine)
    return AuthorshipClassifier().fit(person, others, seed=setup.seed, machine_texts=machine), trained_on


def _machine_texts(setup: EvaluationSetup) -> list[str]:
    """The base model's replies to a sample of training prompts (never a held-out one), prompt words blanked:
    what "written by a language model, not by the person" looks like for this person's kind of prompts."""
    from doppel.evaluation.replies import generate_replies
    from doppel.evaluation.style import MIN_TEXTS_PER_SIDE, mask_prompt_words, prompt_text

    cfg = setup.twin.evaluation
    fitting = [e for e in setup.built.train if setup.prompter.count(e.prompt_messages) <= setup.data.max_length - 16]
    if cfg.machine_texts == 0 or len(fitting) < MIN_TEXTS_PER_SIDE:
        return []
    chosen = random.Random(setup.seed).sample(fitting, min(cfg.machine_texts, len(fitting)))
    with setup.local.base_model_only():
        replies = generate_replies(
            setup.local.model,
            setup.prompter,
            [e.prompt_messages for e in chosen],
            max_new_tokens=cfg.max_new_tokens,
            batch_size=cfg.batch_size,
        )
    return [mask_prompt_words(t, prompt_text(e.prompt_messages)) for t, e in zip(replies.texts, chosen, strict=True)]
