"""``doppel demo``: the whole path on the built-in persona, on the embedded database, on CPU.

Loads Allan into the embedded PostgreSQL, trains ``allan-maverick`` with a
short schedule (fewer steps, the real base model), and sets base-model,
twin and real replies side by side on held-out prompts.
"""

from __future__ import annotations

from dataclasses import dataclass

from doppel.config import Settings, TwinConfig
from doppel.db import Database
from doppel.demo.load import load_demo
from doppel.demo.persona import generate
from doppel.inference.local import LocalTwin
from doppel.pipeline import Reporter, TrainOutcome, train_twin
from doppel.training.base_models import resolve_base_model

# Enough steps that the twin's habits show; about 6 minutes in all on 2 cores (the limit is 10).
DEMO_TRAINING = {"max_steps": 60, "learning_rate": 4e-4, "eval_batches": 12, "max_length": 384}
HELD_OUT_PER_SOURCE = 1


@dataclass
class Comparison:
    source: str
    prompt: str
    real: str
    base: str
    twin: str


@dataclass
class DemoResult:
    rows: dict[str, int]
    outcome: TrainOutcome
    comparisons: list[Comparison]


def demo_settings(settings: Settings, steps: int | None = None) -> Settings:
    """The built-in twin on the embedded server, whatever else the config says, with the demo's schedule.

    The demo writes the persona's tables, and a company database is only ever
    read, so ``database_url`` is ignored here; the config's own twins are too.
    The schedule is the twin's config rather than per-run overrides, since it
    sets more than a run may change (``eval_batches``).
    """
    training = {**DEMO_TRAINING, **({"max_steps": steps} if steps else {})}
    return Settings(
        home=settings.home,
        models_dir=settings.models_dir,
        log_level=settings.log_level,
        twins=[TwinConfig(training=training)],
    )


def run_demo(
    settings: Settings,
    *,
    reporter: Reporter | None = None,
    steps: int | None = None,
    compare: int = 4,
    max_new_tokens: int = 70,
) -> DemoResult:
    reporter = reporter or Reporter()
    settings = demo_settings(settings, steps)
    db = Database(settings)
    reporter.stage("load persona")
    with db.crm.connection() as conn:
        rows = load_demo(conn, generate())
    outcome = train_twin(settings, "allan-maverick", reporter=reporter, db=db)
    reporter.stage("compare")
    comparisons = compare_replies(settings, outcome, count=compare, max_new_tokens=max_new_tokens)
    return DemoResult(rows=rows, outcome=outcome, comparisons=comparisons)


def compare_replies(settings: Settings, outcome: TrainOutcome, *, count: int, max_new_tokens: int) -> list[Comparison]:
    """Held-out prompts (validation split: the twin never trained on these answers), one source at a time."""
    twin_cfg = settings.twin(outcome.version.twin)
    base = resolve_base_model(twin_cfg.base_model, settings.home)
    twin = LocalTwin.from_version(base, outcome.version)
    picked, seen = [], set()
    for example in outcome.dataset.val_examples:
        if example.source not in seen:
            picked.append(example)
            seen.add(example.source)
        if len(picked) >= count:
            break
    comparisons = []
    for example in picked:
        prompt = example.prompt_messages
        twin_reply = twin.generate(prompt, max_new_tokens=max_new_tokens).text
        with twin.base_model_only():
            base_reply = twin.generate(prompt, max_new_tokens=max_new_tokens).text
        comparisons.append(Comparison(example.source, prompt[-1]["content"], example.target, base_reply, twin_reply))
    return comparisons
