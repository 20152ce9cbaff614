"""One training run, start to end: base model → records → data set → LoRA → version → gate.

Two modes:
- ``full``: a new adapter from the base model on every record; the major
  version number goes up (v2.0).
- ``incremental``: continue from the ``final`` adapter on the records newer
  than final's per-source watermarks, plus a replay sample of older ones so
  the twin does not forget; the minor number goes up (v1.0 → v1.1). With
  nothing new, the run succeeds with "nothing new" and makes no version.

A new version becomes ``final`` only when its loss on the fixed validation set
is not worse than final's by more than ``promotion.tolerance``; otherwise it
stays a candidate and the run says why.

The CLI, the HTTP service and the worker all call ``train_twin``; they only
differ in how they show progress (``Reporter``). Whoever calls it, the run's
row in ``doppel.runs`` carries its progress, heartbeat and cancel flag.
"""

from __future__ import annotations

import json
import logging
import math
import random
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import torch

import doppel
from doppel.config import Settings, TrainingConfig, TrainingOverrides, TwinConfig
from doppel.dataset import (
    Dataset,
    build_dataset,
    check_usable,
    fixed_val_set,
    read_splits,
    val_set_digest,
    write_card,
    write_splits,
)
from doppel.dataset.examples import BuildResult, Example, build_examples
from doppel.dataset.tokenize import ensure_chat_template
from doppel.db import Database, DatabaseError
from doppel.privacy.forget import refresh_marks
from doppel.privacy.prepare import prepare_records
from doppel.registry import Mode, Registry, Version
from doppel.runs import PROGRESS_EVERY, RunProgress, cancel_requested, create_run, finish_run, run_lifecycle, update_run
from doppel.sources import Record, read_records
from doppel.training import distributed, memory
from doppel.training.base_models import load_tokenizer, resolve_base_model
from doppel.training.fit import Callbacks, FitResult, StepInfo, TrainingCancelled, fit
from doppel.training.lora import add_lora, load_base
from doppel.training.overrides import override_changes, resolve_training
from doppel.training.perplexity import SEED_TARGETS, LossResult, evaluate_loss
from doppel.training.placement import Placement, choose_placement

log = logging.getLogger(__name__)

# The seed's targets for a usable twin; the metrics say whether each was met.


@dataclass
class Reporter:
    """Hooks a face uses to show progress; every one is optional."""

    on_stage: Callable[[str], None] | None = None
    on_record: Callable[[Record], None] | None = None
    callbacks: Callbacks | None = None
    should_stop: Callable[[], bool] | None = None
    # (what, done, total) of a counted stage's work: records embedded for the retrieval index.
    on_progress: Callable[[str, int, int], None] | None = None

    def stage(self, name: str) -> None:
        log.debug("stage: %s", name)
        if self.on_stage:
            self.on_stage(name)


@dataclass
class TrainOutcome:
    run_id: int
    mode: Mode
    version: Version | None  # None when there was nothing new to learn
    promoted: bool
    message: str
    metrics: dict = field(default_factory=dict)
    dataset: Dataset | None = None
    fit: FitResult | None = None
    published: object | None = None  # doppel.export.publish.Published when export.after_promotion ran


def collect_records(db: Database, twin: TwinConfig, reporter: Reporter | None = None) -> list[Record]:
    return read_records(db, twin, on_record=(reporter or Reporter()).on_record)


def prepare_dataset(records: list[Record], twin: TwinConfig, tokenizer, cfg: TrainingConfig, **selection) -> Dataset:
    ensure_chat_template(tokenizer)
    return build_dataset(records, tokenizer, twin=twin.name, persona=twin.persona, training=cfg, **selection)


def data_until(records: list[Record]) -> dict[str, str]:
    """Per source, the newest record's timestamp: the watermarks a version is stamped with."""
    newest: dict[str, object] = {}
    for r in records:
        if r.timestamp is not None and (r.source not in newest or r.timestamp > newest[r.source]):
            newest[r.source] = r.timestamp
    return {source: stamp.isoformat() for source, stamp in newest.items()}


def split_new(built: BuildResult, watermarks: dict[str, str]) -> tuple[list[Example], list[Example]]:
    """Train examples newer than the watermarks, and the older ones."""
    from datetime import datetime

    marks = {s: datetime.fromisoformat(v) for s, v in watermarks.items()}
    new, old = [], []
    for ex in built.train:
        mark = marks.get(ex.source)
        is_new = mark is None or (ex.timestamp is not None and ex.timestamp > mark)
        (new if is_new else old).append(ex)
    return new, old


class _RunHooks:
    """Forwards training progress to the face's callbacks and into the run's row; reads the cancel flag."""

    def __init__(self, db: Database, run_id: int, reporter: Reporter, base: dict):
        self.db, self.run_id, self.reporter = db, run_id, reporter
        self.progress = RunProgress(loss_history=[], **base)
        self._last_write = 0.0
        self._last_check = 0.0

    def write(self, force: bool = False, **fields) -> None:
        self.progress.update(**fields)
        now = time.monotonic()
        if force or now - self._last_write >= PROGRESS_EVERY:
            self._last_write = now
            try:
                update_run(self.db, self.run_id, progress=self.progress)
            except (DatabaseError, psycopg.OperationalError) as exc:
                # Progress is for watching; a database away for a moment must not end the training.
                log.warning("run %s: progress not written (%s); training goes on", self.run_id, exc)

    def on_step(self, info: StepInfo) -> None:
        history = self.progress.loss_history
        history.append([info.step, round(info.loss, 4)])
        if len(history) > 2000:  # keep the row small on long runs: every other point
            del history[::2]
        self.write(
            stage="train",
            step=info.step,
            total_steps=info.total_steps,
            epoch=info.epoch,
            epochs=info.epochs,
            train_loss=info.loss,
            learning_rate=info.learning_rate,
            tokens_per_second=round(info.tokens_per_second, 1),
            eta_seconds=round(info.eta_seconds, 1),
            step_seconds=round(info.elapsed / max(info.step, 1), 3),
        )
        if self.reporter.callbacks:
            self.reporter.callbacks.on_step(info)

    def on_eval(self, epoch: int, result: LossResult | None) -> None:
        if result is not None:
            key = "initial_val_loss" if epoch == 0 else "val_loss"
            self.write(force=True, **{key: result.loss, f"{key.removesuffix('_loss')}_perplexity": result.perplexity})
        if self.reporter.callbacks:
            self.reporter.callbacks.on_eval(epoch, result)

    def should_stop(self) -> bool:
        if self.reporter.should_stop and self.reporter.should_stop():
            return True
        now = time.monotonic()
        if now - self._last_check < PROGRESS_EVERY:
            return False
        self._last_check = now
        try:
            return cancel_requested(self.db, self.run_id)
        except (DatabaseError, psycopg.OperationalError):
            return False  # asked again at the next check


def train_twin(
    settings: Settings,
    twin_name: str | None = None,
    *,
    mode: Mode = "full",
    overrides: TrainingOverrides | dict | None = None,
    reporter: Reporter | None = None,
    promote: bool | None = None,
    db: Database | None = None,
    run_id: int | None = None,
    trigger: str = "cli",
) -> TrainOutcome:
    """Run one training. ``promote``: None lets the gate decide, True/False force it.

    With ``run_id`` the run already has a row (queued by the service) and a
    checkpoint folder, from which an interrupted attempt resumes.
    """
    reporter = reporter or Reporter()
    started = time.perf_counter()
    twin = settings.twin(twin_name)
    changes = override_changes(overrides)
    cfg = resolve_training(twin, changes, settings.home)
    # All cores, or under torchrun on CPUs, this process's share of them.
    torch.set_num_threads(distributed.threads_per_process())
    db = db or Database(settings)
    db.ensure_schema()
    params = {"mode": mode, **changes}
    queued = run_id is not None
    if run_id is None:
        with db.connection() as conn:
            run_id = create_run(conn, twin.name, mode, params, state="running", trigger=trigger)
    hooks = _RunHooks(db, run_id, reporter, {"stage": "starting", "mode": mode})
    beat = settings.service.heartbeat_seconds
    with run_lifecycle(db, run_id, beat, mark=queued, cancelled=(TrainingCancelled,)):
        outcome = _run(settings, twin, cfg, mode, db, run_id, reporter, hooks, promote, started)
    if outcome.promoted and twin.export.after_promotion:
        # After the training model is gone (memory): merging loads the base again.
        _stage("export", reporter, hooks)
        from doppel.export.publish import publish

        published = publish(settings, twin, outcome.version)
        outcome.message = f"{outcome.message}; {published.summary()}"
        outcome.published = published
    finish_run(
        db,
        run_id,
        "succeeded",
        version=outcome.version.name if outcome.version else None,
        metrics=_run_summary(outcome.metrics),
        message=outcome.message,
    )
    return outcome


def _stage(name: str, reporter: Reporter, hooks: _RunHooks) -> None:
    reporter.stage(name)
    hooks.write(force=True, stage=name)


def _run(
    settings: Settings,
    twin: TwinConfig,
    cfg: TrainingConfig,
    mode: Mode,
    db: Database,
    run_id: int,
    reporter: Reporter,
    hooks: _RunHooks,
    promote: bool | None,
    started: float,
) -> TrainOutcome:
    # A wrong base model should fail before any data work.
    _stage("base model", reporter, hooks)
    base = resolve_base_model(twin.base_model, settings.home)
    tokenizer = load_tokenizer(base)
    ensure_chat_template(tokenizer)

    registry = Registry(settings.resolved_models_dir)
    final = registry.final(twin.name)
    if mode == "preference" and final is None:
        raise PreferenceError(f"twin {twin.name} has no final version to improve: train one first (doppel train)")
    if mode == "incremental" and final is None:
        log.info("twin %s has no final version yet: training from the base model instead", twin.name)
        mode = "full"
        hooks.write(force=True, mode=mode)

    _stage("collect", reporter, hooks)
    records = collect_records(db, twin, reporter)
    _stage("privacy", reporter, hooks)
    protected = prepare_records(settings, twin, db, records)
    records, privacy = protected.records, protected.report
    used = ((final.manifest.get("privacy") or {}) if final else {}).get("faker")
    if mode == "incremental" and privacy.enabled and used and used != privacy.to_dict()["faker"]:
        # Another faker release may draw other fakes: the parent learned one set, this run would teach another.
        log.warning(
            "faker changed since %s (%s, now %s): some fakes may differ; a full retrain keeps them consistent",
            final.name,
            used,
            privacy.to_dict()["faker"],
        )
    _stage("dataset", reporter, hooks)
    built = _examples(records, twin, cfg, final)
    check_usable(built, twin.name)
    val_examples = fixed_val_set(built.val, twin.promotion.gate_examples)
    if mode == "preference":
        return _run_preference(
            settings, twin, cfg, db, run_id, reporter, hooks, promote, started, base, tokenizer, registry, final,
            records, built, val_examples, privacy.to_dict(),
        )  # fmt: skip

    if mode == "incremental":
        new, old = split_new(built, final.manifest.get("data_until", {}))
        if not new:
            return TrainOutcome(run_id, mode, None, False, f"nothing new since {final.name}")
        k = min(len(old), math.ceil(twin.incremental.replay_ratio * len(new)))
        replay = random.Random(f"{cfg.seed}:{run_id}").sample(old, k)
        train_examples = new + replay
        cfg = cfg.model_copy(
            update={
                "epochs": twin.incremental.epochs or cfg.epochs,
                "learning_rate": twin.incremental.learning_rate or cfg.learning_rate,
            }
        )
        selection = {"mode": mode, "new": len(new), "replay": len(replay), "parent": final.name}
    else:
        train_examples = built.train
        selection = {"mode": mode, "new": len(train_examples), "replay": 0}
    indexed = _index(db, twin, built, reporter, hooks)
    if indexed is not None and twin.retrieval.in_training:
        train_examples, val_examples, selection["retrieval"] = _with_neighbours(
            db, twin, tokenizer, cfg, train_examples, val_examples
        )
    dataset = build_dataset(
        records,
        tokenizer,
        twin=twin.name,
        persona=twin.persona,
        training=cfg,
        built=built,
        train_examples=train_examples,
        val_examples=val_examples,
        selection=selection,
        privacy=privacy.to_dict(),
    )
    hooks.write(force=True, examples={"train": len(dataset.train), "val": len(dataset.val)}, **selection)

    _stage("train", reporter, hooks)
    placement = choose_placement(cfg)
    memory.guard(base.path, cfg, twin.lora.r, placement, local_only=base.local_only)
    from_adapter = final.adapter_dir if mode == "incremental" else None
    checkpointing = memory.checkpointing(cfg, placement)
    checkpoint_dir = run_dir(settings, twin.name, run_id) / "checkpoints"
    # Under torchrun: the other ranks load the same model and train their share of each step with us.
    distributed.share(
        distributed.TrainSpec(base, twin.lora, cfg, dataset.train, from_adapter, checkpointing, checkpoint_dir)
    )
    model = add_lora(
        load_base(base, placement),
        twin.lora,
        quantized=placement.quantization is not None,
        from_adapter=from_adapter,
        checkpointing=checkpointing,
        seed=cfg.seed,
    )
    result = fit(
        model,
        dataset.train,
        dataset.val,
        cfg,
        placement,
        checkpoint_dir=checkpoint_dir,
        callbacks=hooks,
        should_stop=hooks.should_stop,
    )

    _stage("gate", reporter, hooks)
    gate = _gate(model, final, mode, result, dataset, cfg, placement, twin.promotion.tolerance)
    metrics = _metrics(result, dataset, placement, cfg, time.perf_counter() - started, mode, gate)

    _stage("register", reporter, hooks)
    manifest = {
        "doppel": doppel.__version__,
        "run_id": run_id,
        "base_model": {"name": base.name, "fingerprint": base.fingerprint},
        "data_until": data_until(records),
        "gate": gate,
        # What was replaced and left out, as counts: never the values.
        "privacy": privacy.to_dict(),
    }
    if indexed is not None:
        manifest["index"] = indexed
    parent = final.name if mode == "incremental" else None
    version = registry.register(
        twin.name,
        lambda folder: _write_version(folder, model, tokenizer, twin, cfg, dataset, metrics),
        mode=mode,
        manifest=manifest,
        parent=parent,
    )
    prepare_serving(twin, version)
    promoted = gate["passed"] if promote is None else promote
    if promote is None and gate["passed"] and twin.promotion.needs_scorecard:
        # The thresholds name scorecard numbers: score the candidate before it can become final.
        _stage("evaluate", reporter, hooks)
        del model
        promoted = _scorecard_gate(settings, twin, version, db, gate)
        metrics["gate"] = gate
    if promoted:
        registry.promote(twin.name, version.name)
    # A forget request filed while this run trained is not in its data filter: mark the version if so.
    refresh_marks(db, registry, twin.name)
    shutil.rmtree(checkpoint_dir, ignore_errors=True)
    message = f"{version.name} is final" if promoted else f"{version.name} kept as a candidate: {gate['reason']}"
    if promoted and "scorecard" in gate:
        message += "; scorecard thresholds met"
    return TrainOutcome(run_id, mode, version, promoted, message, metrics, dataset, result)


class PreferenceError(ValueError):
    """A preference run that cannot start (no final version to continue from)."""


def _run_preference(
    settings: Settings,
    twin: TwinConfig,
    cfg: TrainingConfig,
    db: Database,
    run_id: int,
    reporter: Reporter,
    hooks: _RunHooks,
    promote: bool | None,
    started: float,
    base,
    tokenizer,
    registry: Registry,
    final: Version,
    records: list[Record],
    built: BuildResult,
    val_examples: list[Example],
    privacy: dict,
) -> TrainOutcome:
    """DPO from final's adapter on the feedback pairs, with a replay; a minor version, gated on held-out pairs."""
    from doppel.evaluation.baselines import mcnemar
    from doppel.evaluation.preference_pairs import collect_pairs
    from doppel.feedback import mark_learned
    from doppel.training.preference import fit_preference, preferred

    pref = twin.preference
    _stage("pairs", reporter, hooks)
    pairs = collect_pairs(db, registry, twin, built, tokenizer, cfg.max_length)
    hooks.write(force=True, preference_pairs=pairs.counts())
    if len(pairs.train) < pref.min_pairs:
        message = (
            f"{len(pairs.train)} preference pair(s) to learn from (preference.min_pairs = {pref.min_pairs}): "
            "edit the twin's replies (POST /api/feedback) or review its pairs first"
        )
        return TrainOutcome(run_id, "preference", None, False, message)
    # The replay: ordinary examples, one per pair per step, so the twin keeps the rest of what it learned.
    steps = pref.epochs * math.ceil(len(pairs.train) / cfg.batch_size)
    wanted = min(len(built.train), steps * cfg.batch_size)
    replay = random.Random(f"{cfg.seed}:{run_id}").sample(built.train, wanted)
    selection = {"mode": "preference", "new": 0, "replay": len(replay), "parent": final.name, **pairs.counts()}
    dataset = build_dataset(
        records, tokenizer, twin=twin.name, persona=twin.persona, training=cfg, built=built,
        train_examples=replay, val_examples=val_examples, selection=selection, privacy=privacy,
    )  # fmt: skip

    _stage("train", reporter, hooks)
    placement = choose_placement(cfg)
    memory.guard(base.path, cfg, twin.lora.r, placement, local_only=base.local_only)
    model = add_lora(
        load_base(base, placement),
        twin.lora,
        quantized=placement.quantization is not None,
        from_adapter=final.adapter_dir,
        checkpointing=memory.checkpointing(cfg, placement),
    )

    def val_loss() -> LossResult | None:
        return evaluate_loss(
            model, dataset.val, batch_size=cfg.batch_size, max_batches=cfg.eval_batches, placement=placement
        )

    before_val, before_right = val_loss(), preferred(model, pairs.held_out, placement)
    hooks.on_eval(0, before_val)
    train_started = time.perf_counter()

    def on_step(step: int, total: int, loss: float) -> None:
        elapsed = time.perf_counter() - train_started
        epochs_done = math.ceil(step / max(1, total // pref.epochs))
        hooks.on_step(
            StepInfo(step, total, min(epochs_done, pref.epochs), pref.epochs, loss, pref.learning_rate, 0.0, elapsed)
        )

    result = fit_preference(
        model, pairs.train, dataset.train, placement, epochs=pref.epochs, batch_size=cfg.batch_size,
        learning_rate=pref.learning_rate, beta=pref.beta, replay_weight=pref.replay_weight, seed=cfg.seed,
        max_grad_norm=cfg.max_grad_norm, on_step=on_step, should_stop=hooks.should_stop,
    )  # fmt: skip
    after_val, after_right = val_loss(), preferred(model, pairs.held_out, placement)
    hooks.on_eval(1, after_val)
    before_accuracy = sum(before_right.values()) / len(before_right) if before_right else None
    after_accuracy = sum(after_right.values()) / len(after_right) if after_right else None
    # Same held-out pairs before and after: an exact McNemar test says whether the gain is more than chance.
    keys = sorted(after_right)
    paired = mcnemar([after_right[k] for k in keys], [before_right[k] for k in keys]) if keys else None

    _stage("gate", reporter, hooks)
    gate = _preference_gate(final, before_val, after_val, before_accuracy, after_accuracy, twin.promotion.tolerance)
    if paired is not None and gate["passed"]:
        verdict = "significant" if paired["significant"] else "not significant"
        gate["reason"] += f" ({len(keys)} pairs, McNemar p = {paired['p_value']:.3f}: {verdict})"
    preference = {
        "pairs": pairs.counts(),
        "accuracy_before": before_accuracy,
        "accuracy": after_accuracy,
        # first_only: held-out pairs right only after training; second_only: right only before.
        "held_out_test": paired,
        "beta": pref.beta,
        "epochs": pref.epochs,
        "learning_rate": pref.learning_rate,
        "replay_weight": pref.replay_weight,
        "dpo_loss_first": result.dpo_losses[0],
        "dpo_loss_last": result.dpo_losses[-1],
    }
    metrics = {
        "mode": "preference",
        "train_loss": sum(result.losses[-20:]) / len(result.losses[-20:]),
        "val_loss": after_val.loss if after_val else None,
        "val_perplexity": after_val.perplexity if after_val else None,
        "val_tokens": after_val.tokens if after_val else 0,
        "val_set": val_set_digest(dataset.val_examples),
        "parent_val_loss": before_val.loss if before_val else None,
        "parent_val_perplexity": before_val.perplexity if before_val else None,
        "examples": {"train": len(dataset.train), "val": len(dataset.val)},
        "selection": dataset.card.get("selection"),
        "preference_pairs": len(pairs.train),
        "preference_accuracy": after_accuracy,
        "preference": preference,
        "steps": result.steps,
        "train_seconds": round(result.train_seconds, 1),
        "wall_seconds": round(time.perf_counter() - started, 1),
        "device": placement.description,
        "hyperparameters": cfg.model_dump(),
        "gate": gate,
        "train_loss_history": [round(x, 4) for x in result.losses],
    }

    _stage("register", reporter, hooks)
    manifest = {
        "doppel": doppel.__version__,
        "run_id": run_id,
        "base_model": {"name": base.name, "fingerprint": base.fingerprint},
        "data_until": final.manifest.get("data_until", {}),
        "gate": gate,
        "privacy": privacy,
        "preference": preference,
    }
    version = registry.register(
        twin.name,
        lambda folder: _write_version(folder, model, tokenizer, twin, cfg, dataset, metrics),
        mode="preference",
        manifest=manifest,
        parent=final.name,
    )
    prepare_serving(twin, version)
    mark_learned(db, pairs.feedback_ids, version.name)
    promoted = gate["passed"] if promote is None else promote
    if promote is None and gate["passed"]:
        del model
        promoted = _style_not_lower(settings, twin, final, version, db, gate)
    if promoted:
        registry.promote(twin.name, version.name)
    refresh_marks(db, registry, twin.name)
    message = f"{version.name} is final" if promoted else f"{version.name} kept as a candidate: {gate['reason']}"
    return TrainOutcome(run_id, "preference", version, promoted, message, metrics, dataset, None)


def _preference_gate(
    final: Version,
    before: LossResult | None,
    after: LossResult | None,
    accuracy_before: float | None,
    accuracy: float | None,
    tolerance: float,
) -> dict:
    """A preference version must keep final's val loss (within tolerance) and prefer held-out chosen replies more."""
    gate = {
        "val_loss": after.loss if after else None,
        "final_val_loss": before.loss if before else None,
        "compared_with": final.name,
        "tolerance": tolerance,
        "preference_accuracy": accuracy,
        "final_preference_accuracy": accuracy_before,
    }
    if before is not None and after is not None and after.loss > before.loss * (1.0 + tolerance):
        reason = (
            f"val loss {after.loss:.4f} is worse than {final.name}'s {before.loss:.4f} by more than {tolerance:.0%}"
        )
        return {**gate, "passed": False, "reason": reason}
    if accuracy is None or accuracy_before is None:
        reason = "no held-out pairs to measure the gain on (pairs on validation prompts are held out)"
        return {**gate, "passed": False, "reason": reason}
    if accuracy <= accuracy_before:
        reason = f"held-out preference accuracy {accuracy:.0%} did not rise above {final.name}'s {accuracy_before:.0%}"
        return {**gate, "passed": False, "reason": reason}
    loss_part = f"val loss {after.loss:.4f} vs {before.loss:.4f}; " if before and after else ""
    reason = f"{loss_part}held-out preference accuracy {accuracy_before:.0%} -> {accuracy:.0%}"
    return {**gate, "passed": True, "reason": reason}


def _style_not_lower(
    settings: Settings, twin: TwinConfig, final: Version, version: Version, db: Database, gate: dict
) -> bool:
    """When final has a scorecard, the candidate's share read as the person may not be lower than final's."""
    from doppel.evaluation.evaluate import evaluate_version
    from doppel.evaluation.store import EvaluationError, load_scorecard

    try:
        final_card = load_scorecard(settings, twin.name, final.name, db=db)
    except EvaluationError:
        gate["style"] = "final has no scorecard: style share not compared"
        return True
    before = final_card.headline().get("style.twin_share")
    card = evaluate_version(settings, twin.name, version.name, db=db)
    after = card.headline().get("style.twin_share")
    gate["style"] = {"twin_share": after, "final_twin_share": before}
    if before is not None and after is not None and after < before:
        gate["passed"] = False
        gate["reason"] = f"share read as the person fell from {before:.0%} to {after:.0%}"
        return False
    return True


def _examples(records: list[Record], twin: TwinConfig, cfg: TrainingConfig, final: Version | None) -> BuildResult:
    # Every example stays on the side final had it on: the gate compares the two on data neither learned.
    return build_examples(
        records,
        twin.persona,
        min_chars=cfg.min_chars,
        val_fraction=cfg.val_fraction,
        pinned=read_splits(final.path if final else None),
    )


def index_twin(settings: Settings, twin_name: str | None = None, *, reporter: Reporter | None = None, rebuild=False):
    """`doppel index`: the twin's records as its next run would build them (final's split kept), indexed.

    Returns the IndexReport. ``rebuild`` empties the twin's index first (every record embedded again).
    """
    from doppel.retrieval.indexing import sync_index
    from doppel.retrieval.store import RecordIndex

    reporter = reporter or Reporter()
    twin = settings.twin(twin_name)
    db = Database(settings)
    db.ensure_schema()
    index = RecordIndex(db)
    index.ensure()  # no pgvector: fail before reading anything
    final = Registry(settings.resolved_models_dir).final(twin.name)
    reporter.stage("collect")
    records = collect_records(db, twin, reporter)
    reporter.stage("privacy")
    records = prepare_records(settings, twin, db, records).records
    reporter.stage("dataset")
    built = _examples(records, twin, twin.training, final)
    reporter.stage("index")
    if rebuild:
        index.drop_twin(twin.name)
    progress = (lambda done, total: reporter.on_progress("index", done, total)) if reporter.on_progress else None
    return sync_index(db, twin.name, [*built.train, *built.val], progress=progress)


def _index(db: Database, twin: TwinConfig, built: BuildResult, reporter: Reporter, hooks: _RunHooks) -> dict | None:
    """Bring the retrieval index to this data set (new and changed records only), before the long part:
    a server without pgvector fails the run here, with the fix in the message, not after training."""
    if not twin.retrieval.enabled:
        return None
    from doppel.retrieval.indexing import sync_index

    _stage("index", reporter, hooks)

    def progress(done: int, total: int) -> None:
        hooks.write(index={"done": done, "total": total})
        if reporter.on_progress:
            reporter.on_progress("index", done, total)

    report = sync_index(db, twin.name, [*built.train, *built.val], progress=progress)
    hooks.write(force=True, index={"done": report.added + report.updated, "total": report.total})
    return report.to_dict()


def _with_neighbours(db: Database, twin: TwinConfig, tokenizer, cfg: TrainingConfig, train, val):
    """Train and validation examples with their nearest training records in the prompt (see retrieval/training)."""
    from doppel.retrieval.training import with_neighbours

    def count_messages(messages: list[dict]) -> int:
        return count_text(tokenizer.apply_chat_template(messages, tokenize=False))

    def count_text(text: str) -> int:
        return len(tokenizer(text, add_special_tokens=False)["input_ids"])

    counts = {}
    out = []
    for name, examples in (("train", train), ("val", val)):
        done, counts[name] = with_neighbours(
            examples,
            db,
            twin.name,
            twin.retrieval,
            count_messages=count_messages,
            count_text=count_text,
            max_length=cfg.max_length,
        )
        out.append(done)
    return out[0], out[1], counts


def _gate(
    model,
    final: Version | None,
    mode: Mode,
    result: FitResult,
    dataset: Dataset,
    cfg: TrainingConfig,
    placement: Placement,
    tolerance: float,
) -> dict:
    """Compare the new adapter with final on the same fixed validation set."""
    new_loss = result.final_val.loss if result.final_val else None
    if final is None:
        return {
            "passed": True,
            "reason": "first version",
            "val_loss": new_loss,
            "final_val_loss": None,
            "tolerance": tolerance,
        }
    if mode == "incremental":
        # Training started from final's adapter: its loss before the first step is final's.
        final_loss = result.initial_val.loss if result.initial_val else None
    else:
        model.load_adapter(str(final.adapter_dir), adapter_name="final")
        model.set_adapter("final")
        scored = evaluate_loss(
            model, dataset.val, batch_size=cfg.batch_size, max_batches=cfg.eval_batches, placement=placement
        )
        model.set_adapter("default")
        model.delete_adapter("final")
        final_loss = scored.loss if scored else None
    if new_loss is None or final_loss is None:
        return {
            "passed": True,
            "reason": "no validation examples to compare on",
            "val_loss": new_loss,
            "final_val_loss": final_loss,
            "tolerance": tolerance,
        }
    limit = final_loss * (1.0 + tolerance)
    passed = new_loss <= limit
    reason = (
        f"val loss {new_loss:.4f} vs {final.name}'s {final_loss:.4f} (limit {limit:.4f})"
        if passed
        else f"val loss {new_loss:.4f} is worse than {final.name}'s {final_loss:.4f} by more than "
        f"{tolerance:.0%} (limit {limit:.4f})"
    )
    return {
        "passed": passed,
        "reason": reason,
        "val_loss": new_loss,
        "final_val_loss": final_loss,
        "compared_with": final.name,
        "tolerance": tolerance,
    }


def _scorecard_gate(settings: Settings, twin: TwinConfig, version: Version, db: Database, gate: dict) -> bool:
    """Evaluate the candidate and check promotion.min_scores / max_scores; records the outcome in ``gate``."""
    from doppel.evaluation.evaluate import evaluate_version
    from doppel.scorecard import check_scores

    card = evaluate_version(settings, twin.name, version.name, db=db)
    problems = check_scores(card, twin.promotion.min_scores, twin.promotion.max_scores)
    gated = {**twin.promotion.min_scores, **twin.promotion.max_scores}
    checked = {k: v for k, v in card.headline().items() if k in gated}
    gate["scorecard"] = {"checked": checked, "problems": problems, "report": getattr(card, "report", None)}
    if problems:
        gate["passed"] = False
        gate["reason"] = "scorecard: " + "; ".join(problems)
    else:
        gate["reason"] = f"{gate['reason']}; scorecard thresholds met"
    return not problems


def _metrics(
    result: FitResult, dataset: Dataset, placement: Placement, cfg: TrainingConfig, wall: float, mode: Mode, gate: dict
) -> dict:
    val, initial = result.final_val, result.initial_val
    # Before the first step a full run is the bare base model; an incremental one is its parent.
    start_key = "base" if mode == "full" else "parent"
    metrics = {
        "mode": mode,
        "train_loss": result.train_loss,
        "val_loss": val.loss if val else None,
        "val_perplexity": val.perplexity if val else None,
        "val_tokens": val.tokens if val else 0,
        "val_set": val_set_digest(dataset.val_examples),
        f"{start_key}_val_loss": initial.loss if initial else None,
        f"{start_key}_val_perplexity": initial.perplexity if initial else None,
        "examples": {"train": len(dataset.train), "val": len(dataset.val)},
        "selection": dataset.card.get("selection"),
        "steps": result.steps,
        "resumed_from_step": result.resumed_from_step,
        "epochs": result.epochs_completed,
        "tokens_seen": result.tokens_seen,
        "tokens_per_second": round(result.tokens_per_second, 1),
        "train_seconds": round(result.train_seconds, 1),
        "wall_seconds": round(wall, 1),
        "device": placement.description,
        # Processes that trained it (torchrun + DDP); a step's examples were split among them.
        "processes": world.size if (world := distributed.active()) else 1,
        "hyperparameters": cfg.model_dump(),
        "gate": gate,
        "val_history": result.val_history,
        "train_loss_history": [round(x, 4) for x in result.train_losses],
    }
    metrics["targets_met"] = {
        key: (metrics[key] is not None and metrics[key] < limit) for key, limit in SEED_TARGETS.items()
    }
    return metrics


def prepare_serving(twin: TwinConfig, version: Version) -> Path | None:
    """The version's adapter as llama.cpp's LoRA GGUF, made now when llama.cpp is to serve the twin; else None.

    Run once the version is registered and before it can become final, so the first request to a new final
    does not wait for the conversion. The file goes to the version's ``export/`` (lora_gguf caches it there,
    keyed by the adapter's hash), outside the manifest: it is derived, and rebuilt whenever the converter
    changes, which must not make the version read as altered. A failure only loses the head start: it is
    logged, and the backend converts on first use, or ``auto`` serves with transformers.
    """
    from doppel.inference.backends import serves_adapter_gguf

    if not serves_adapter_gguf(twin):
        return None
    from doppel.training.lora_gguf import adapter_gguf

    started = time.perf_counter()
    try:
        path = adapter_gguf(version)
    except Exception as exc:  # noqa: BLE001 - a head start for serving must never fail the training run
        log.warning(
            "%s %s: the adapter could not be converted for llama.cpp at registration (%s); the llamacpp backend "
            "tries again when it opens the version, and backend auto serves it with transformers if that fails",
            version.twin,
            version.name,
            exc,
        )
        return None
    log.info(
        "%s %s: adapter converted for llama.cpp in %.1f s (%s)",
        version.twin,
        version.name,
        time.perf_counter() - started,
        path,
    )
    return path


def _write_version(
    folder: Path, model, tokenizer, twin: TwinConfig, cfg: TrainingConfig, dataset: Dataset, metrics: dict
) -> None:
    model.save_pretrained(folder / "adapter")
    tokenizer.save_pretrained(folder / "tokenizer")
    resolved = twin.model_copy(update={"training": cfg}).model_dump(mode="json")
    (folder / "config.json").write_text(json.dumps(resolved, indent=2))
    write_card(dataset.card, folder)
    write_splits(dataset.built, folder)
    (folder / "metrics.json").write_text(json.dumps(metrics, indent=2, default=str))


def run_dir(settings: Settings, twin: str, run_id: int) -> Path:
    return settings.home / "runs" / twin / f"run-{run_id}"


def _run_summary(metrics: dict) -> dict:
    """The run row keeps the headline numbers; the full metrics live in the version folder."""
    return {k: v for k, v in metrics.items() if k not in ("train_loss_history", "hyperparameters")}
