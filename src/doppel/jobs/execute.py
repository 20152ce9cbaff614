"""What a queued run does, in the process that does it: train, or evaluate ``final``."""

from __future__ import annotations

import logging

from doppel.config import Settings
from doppel.db import Database
from doppel.runs import get_run

log = logging.getLogger(__name__)


def execute_run(settings: Settings, run_id: int) -> None:
    db = Database(settings)
    run = get_run(db, run_id)
    if run is None or run.state not in ("queued", "running"):
        log.info("run %s is %s; nothing to do", run_id, run.state if run else "gone")
        return
    if run.mode == "evaluate":
        from doppel.evaluation.monthly import evaluate_final_run

        evaluate_final_run(settings, run, db)
        return
    from doppel.pipeline import train_twin

    overrides = {k: v for k, v in run.params.items() if k != "mode"}
    train_twin(settings, run.twin, mode=run.mode, overrides=overrides, db=db, run_id=run_id, trigger=run.trigger)
