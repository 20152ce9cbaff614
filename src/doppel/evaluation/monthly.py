"""Evaluation as a queued run: the schedule's monthly scorecard of ``final`` and ``POST /api/evaluate``.

The scorecard and its HTML report land in the version's ``evaluation/``
folder, and a dated copy in ``<models>/<twin>/evaluations/``, so the monthly
history of ``final`` is kept even as final moves on.
"""

from __future__ import annotations

import time

from doppel.config import Settings
from doppel.db import Database
from doppel.evaluation.evaluate import evaluate_version
from doppel.runs import (
    PROGRESS_EVERY,
    Run,
    RunProgress,
    cancel_requested,
    finish_run,
    run_lifecycle,
    update_run,
)


class EvaluationCancelled(Exception):
    """A cancel was asked for; the run ends as cancelled with nothing saved."""


def evaluate_final_run(settings: Settings, run: Run, db: Database) -> None:
    """Run the full scorecard for the run's version (default: final), with progress in the run row."""
    last = [0.0]

    def progress(part: str, done: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] >= PROGRESS_EVERY or done >= total:
            last[0] = now
            update_run(db, run.id, progress=RunProgress(mode="evaluate", stage=part, step=done, total_steps=total))
            if cancel_requested(db, run.id):
                raise EvaluationCancelled(f"cancelled during {part}; no scorecard was saved")

    try:
        with run_lifecycle(db, run.id, settings.service.heartbeat_seconds, cancelled=(EvaluationCancelled,)):
            card = evaluate_version(
                settings, run.twin, run.params.get("version"), db=db, seed=run.params.get("seed"), progress=progress
            )
    except EvaluationCancelled:
        return  # recorded as cancelled by the lifecycle
    numbers = {k: v for k, v in card.headline().items() if v is not None}
    finish_run(
        db,
        run.id,
        "succeeded",
        version=card.version,
        metrics={"scorecard": numbers, "report": getattr(card, "report", None)},
        message=f"evaluated {card.version}: {_summary(numbers)}",
    )


def _summary(numbers: dict) -> str:
    shown = []
    for key, label in (
        ("fit.val_loss", "val loss"),
        ("style.twin_share", "style share"),
        ("decisions.accuracy", "decision accuracy"),
    ):
        if key in numbers:
            shown.append(f"{label} {numbers[key]:.3g}")
    return ", ".join(shown) or "no numbers"
