"""The schedule's monthly evaluation of ``final``: fit on the fixed validation set, kept on disk.

The full scorecard (style, decisions, human review) builds on this hook.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone

from doppel.config import Settings
from doppel.dataset import fixed_val_set
from doppel.dataset.examples import build_examples
from doppel.dataset.tokenize import encode, ensure_chat_template
from doppel.db import Database
from doppel.evaluation.perplexity import evaluate_loss
from doppel.registry import Registry
from doppel.runs import Heartbeat, Run, finish_run, mark_running
from doppel.training.base_models import load_tokenizer, resolve_base_model
from doppel.training.lora import load_adapter, load_base
from doppel.training.placement import choose_placement


def evaluate_final(settings: Settings, twin_name: str, db: Database) -> dict:
    """Val loss and perplexity of final and of the base model on the fixed validation set."""
    from doppel.pipeline import collect_records

    twin = settings.twin(twin_name)
    cfg = twin.training
    version = Registry(settings.resolved_models_dir).get(twin.name)
    base = resolve_base_model(twin.base_model, settings.home)
    tokenizer = load_tokenizer(base)
    ensure_chat_template(tokenizer)
    built = build_examples(collect_records(db, twin), twin.persona, min_chars=cfg.min_chars,
                           val_fraction=cfg.val_fraction)
    val = [encode(tokenizer, e, cfg.max_length) for e in fixed_val_set(built.val, twin.promotion.gate_examples)]
    placement = choose_placement(cfg)
    model = load_adapter(load_base(base, placement), version.adapter_dir)
    twin_loss = evaluate_loss(model, val, batch_size=cfg.batch_size, placement=placement)
    with model.disable_adapter():
        base_loss = evaluate_loss(model, val, batch_size=cfg.batch_size, placement=placement)
    report = {
        "twin": twin.name,
        "version": version.name,
        "evaluated_at": datetime.now(timezone.utc).isoformat(),
        "val": twin_loss.as_dict() if twin_loss else None,
        "base_val": base_loss.as_dict() if base_loss else None,
    }
    folder = Registry(settings.resolved_models_dir).twin_dir(twin.name) / "evaluations"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{version.name}-{datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%S')}.json"
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(report, indent=2))
    os.replace(tmp, path)
    report["path"] = str(path)
    return report


def evaluate_final_run(settings: Settings, run: Run, db: Database) -> None:
    mark_running(db, run.id)
    try:
        with Heartbeat(db, run.id, settings.service.heartbeat_seconds):
            report = evaluate_final(settings, run.twin, db)
    except BaseException as exc:
        finish_run(db, run.id, "failed", error=f"{type(exc).__name__}: {exc}")
        raise
    finish_run(db, run.id, "succeeded", version=report["version"], metrics=report,
               message=f"evaluated {report['version']}")
