"""One training run, start to end: base model → records → data set → LoRA → version.

The CLI, the HTTP service and the Python API all call these functions; they
only differ in how they show progress (the ``Reporter`` hooks).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

import doppel
from doppel.config import Settings, TrainingConfig, TwinConfig
from doppel.dataset import Dataset, build_dataset, write_card
from doppel.dataset.tokenize import ensure_chat_template
from doppel.db import Database
from doppel.registry import Mode, Registry, Version
from doppel.runs import finish_run, start_run
from doppel.sources import Record, collect_twin
from doppel.training.base_models import ResolvedBase, load_tokenizer, resolve_base_model
from doppel.training.fit import Callbacks, FitResult, TrainingCancelled, fit
from doppel.training.lora import add_lora, load_base
from doppel.training.placement import Placement, choose_placement

log = logging.getLogger(__name__)

# The seed's targets for a usable twin; the metrics say whether each was met.
SEED_TARGETS = {"train_loss": 0.5, "val_loss": 0.6, "val_perplexity": 10.0}


@dataclass
class Reporter:
    """Hooks a face uses to show progress; every one is optional."""

    on_stage: Callable[[str], None] | None = None
    on_record: Callable[[Record], None] | None = None
    callbacks: Callbacks | None = None
    should_stop: Callable[[], bool] | None = None

    def stage(self, name: str) -> None:
        log.debug("stage: %s", name)
        if self.on_stage:
            self.on_stage(name)


@dataclass
class TrainOutcome:
    run_id: int
    version: Version
    promoted: bool
    metrics: dict
    dataset: Dataset
    fit: FitResult


def training_config(twin: TwinConfig, overrides: dict | None) -> TrainingConfig:
    """The twin's training settings with per-run overrides, validated like the config file."""
    if not overrides:
        return twin.training
    return TrainingConfig.model_validate({**twin.training.model_dump(), **overrides})


def collect_records(db: Database, twin: TwinConfig, reporter: Reporter | None = None) -> list[Record]:
    reporter = reporter or Reporter()
    with db.connection() as conn:
        return collect_twin(conn, twin, on_record=reporter.on_record)


def prepare_dataset(records: list[Record], twin: TwinConfig, tokenizer, cfg: TrainingConfig) -> Dataset:
    ensure_chat_template(tokenizer)
    return build_dataset(records, twin.model_copy(update={"training": cfg}), tokenizer)


def _metrics(result: FitResult, dataset: Dataset, placement: Placement, cfg: TrainingConfig, wall: float) -> dict:
    val = result.final_val
    base = result.initial_val
    metrics = {
        "train_loss": result.train_loss,
        "val_loss": val.loss if val else None,
        "val_perplexity": val.perplexity if val else None,
        "val_tokens": val.tokens if val else 0,
        "base_val_loss": base.loss if base else None,
        "base_val_perplexity": base.perplexity if base else None,
        "examples": {"train": len(dataset.train), "val": len(dataset.val)},
        "steps": result.steps,
        "epochs": result.epochs_completed,
        "tokens_seen": result.tokens_seen,
        "tokens_per_second": round(result.tokens_per_second, 1),
        "train_seconds": round(result.train_seconds, 1),
        "wall_seconds": round(wall, 1),
        "device": placement.description,
        "hyperparameters": cfg.model_dump(),
        "val_history": result.val_history,
        "train_loss_history": [round(x, 4) for x in result.train_losses],
    }
    metrics["targets_met"] = {
        key: (metrics[key] is not None and metrics[key] < limit) for key, limit in SEED_TARGETS.items()
    }
    return metrics


def _write_version(
    folder: Path, model, tokenizer, twin: TwinConfig, cfg: TrainingConfig, dataset: Dataset, metrics: dict
) -> None:
    model.save_pretrained(folder / "adapter")
    tokenizer.save_pretrained(folder / "tokenizer")
    resolved = twin.model_copy(update={"training": cfg}).model_dump(mode="json")
    (folder / "config.json").write_text(json.dumps(resolved, indent=2))
    write_card(dataset.card, folder)
    (folder / "metrics.json").write_text(json.dumps(metrics, indent=2, default=str))


def run_dir(settings: Settings, twin: str, run_id: int) -> Path:
    return settings.home / "runs" / twin / f"run-{run_id}"


def train_twin(
    settings: Settings,
    twin_name: str | None = None,
    *,
    overrides: dict | None = None,
    mode: Mode = "full",
    reporter: Reporter | None = None,
    promote: bool = True,
    db: Database | None = None,
) -> TrainOutcome:
    """A full training run: makes and registers a new version, and by default promotes it to ``final``."""
    reporter = reporter or Reporter()
    started = time.perf_counter()
    twin = settings.twin(twin_name)
    cfg = training_config(twin, overrides)
    torch.set_num_threads(max(1, os.cpu_count() or 1))

    # A wrong base model should fail before any data work.
    reporter.stage("base model")
    base = resolve_base_model(twin.base_model, settings.home)
    tokenizer = load_tokenizer(base)

    db = db or Database(settings)
    db.ensure_schema()
    run_id = start_run(db, twin.name, mode, cfg.model_dump())
    try:
        reporter.stage("collect")
        records = collect_records(db, twin, reporter)
        reporter.stage("dataset")
        dataset = prepare_dataset(records, twin, tokenizer, cfg)
        outcome = _train_and_register(
            settings, twin, cfg, base, tokenizer, dataset, run_id, mode, reporter, promote, started
        )
    except TrainingCancelled as exc:
        finish_run(db, run_id, "cancelled", error=str(exc))
        raise
    except BaseException as exc:
        finish_run(db, run_id, "failed", error=f"{type(exc).__name__}: {exc}")
        raise
    finish_run(db, run_id, "succeeded", version=outcome.version.name, metrics=_run_summary(outcome.metrics))
    return outcome


def _train_and_register(
    settings: Settings,
    twin: TwinConfig,
    cfg: TrainingConfig,
    base: ResolvedBase,
    tokenizer,
    dataset: Dataset,
    run_id: int,
    mode: Mode,
    reporter: Reporter,
    promote: bool,
    started: float,
) -> TrainOutcome:
    reporter.stage("train")
    placement = choose_placement(cfg)
    model = add_lora(load_base(base, placement), twin.lora, quantized=placement.quantization is not None)
    checkpoint_dir = run_dir(settings, twin.name, run_id) / "checkpoints"
    result = fit(
        model,
        dataset.train,
        dataset.val,
        cfg,
        placement,
        checkpoint_dir=checkpoint_dir,
        callbacks=reporter.callbacks,
        should_stop=reporter.should_stop,
    )
    reporter.stage("register")
    metrics = _metrics(result, dataset, placement, cfg, time.perf_counter() - started)
    registry = Registry(settings.resolved_models_dir)
    manifest = {
        "doppel": doppel.__version__,
        "run_id": run_id,
        "base_model": {"name": base.name, "fingerprint": base.fingerprint},
    }
    version = registry.register(
        twin.name,
        lambda folder: _write_version(folder, model, tokenizer, twin, cfg, dataset, metrics),
        mode=mode,
        manifest=manifest,
    )
    if promote:
        registry.promote(twin.name, version.name)
    shutil.rmtree(checkpoint_dir, ignore_errors=True)
    return TrainOutcome(run_id, version, promote, metrics, dataset, result)


def _run_summary(metrics: dict) -> dict:
    """The run row keeps the headline numbers; the full metrics live in the version folder."""
    return {k: v for k, v in metrics.items() if k not in ("train_loss_history", "hyperparameters")}
