"""The training loop: LoRA on packed examples, loss on the person's tokens only.

One readable loop instead of a framework Trainer: the steps are few and we
want exact control of packing, the loss, progress reporting, cancellation and
resumable per-epoch checkpoints.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import torch

from doppel.config import TrainingConfig
from doppel.dataset.packing import pack as make_pack
from doppel.dataset.packing import plan
from doppel.dataset.tokenize import TokenizedExample
from doppel.training import checkpoints, distributed
from doppel.training.loss import pack_loss
from doppel.training.perplexity import LossResult, evaluate_loss
from doppel.training.placement import Placement

log = logging.getLogger(__name__)


class TrainingCancelled(RuntimeError):
    """The run was asked to stop; no version is made."""


@dataclass
class StepInfo:
    step: int
    total_steps: int
    epoch: int  # 1-based
    epochs: int
    loss: float
    learning_rate: float
    tokens_per_second: float
    elapsed: float

    @property
    def eta_seconds(self) -> float:
        done = max(self.step, 1)
        return self.elapsed / done * (self.total_steps - self.step)


class Callbacks(Protocol):
    def on_step(self, info: StepInfo) -> None: ...
    def on_eval(self, epoch: int, result: LossResult | None) -> None: ...


class NullCallbacks:
    def on_step(self, info: StepInfo) -> None:
        pass

    def on_eval(self, epoch: int, result: LossResult | None) -> None:
        pass


@dataclass
class FitResult:
    steps: int
    epochs_completed: int
    train_losses: list[float] = field(default_factory=list)  # per step
    val_history: list[dict] = field(default_factory=list)  # per epoch: {"epoch", "loss", "perplexity", ...}
    initial_val: LossResult | None = None  # before any update: the base model's
    final_val: LossResult | None = None
    tokens_seen: int = 0
    train_seconds: float = 0.0
    resumed_from_step: int = 0

    @property
    def tokens_per_second(self) -> float:
        return self.tokens_seen / self.train_seconds if self.train_seconds > 0 else 0.0

    @property
    def train_loss(self) -> float | None:
        """Mean of the last epoch's step losses (or of the last 20 steps, whichever is fewer)."""
        if not self.train_losses:
            return None
        tail = self.train_losses[-min(20, len(self.train_losses)) :]
        return sum(tail) / len(tail)


def _lr_lambda(total_steps: int, warmup_steps: int) -> Callable[[int], float]:
    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / (warmup_steps + 1)
        progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return 0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

    return factor


def fit(
    model,
    train: Sequence[TokenizedExample],
    val: Sequence[TokenizedExample],
    cfg: TrainingConfig,
    placement: Placement,
    *,
    checkpoint_dir: Path | None = None,
    callbacks: Callbacks | None = None,
    should_stop: Callable[[], bool] | None = None,
    evaluate_initial: bool = True,
) -> FitResult:
    """Train ``model`` (a PEFT model) in place and return what happened.

    With ``checkpoint_dir``, the state is saved there after every epoch and
    every ``cfg.checkpoint_steps`` steps; a run started again with the same
    directory continues from the newest checkpoint, with the same data order
    and random state, so it ends where an uninterrupted run would.

    Under torchrun (``training.distributed``) every rank calls this with the
    same examples; each trains its share of every step and rank 0 alone
    evaluates, saves checkpoints and reports.
    """
    callbacks = callbacks or NullCallbacks()
    world = distributed.active()
    main = world is None or world.is_main
    # Each rank its own dropout draws; LoRA's starting weights come from rank 0 (DDP broadcasts them).
    torch.manual_seed(cfg.seed + (world.rank if world else 0))
    lengths = [len(e) for e in train]
    # Each epoch's packs, fixed by the seed and the epoch, so a resumed run sees the same packs in the same
    # order. With a token budget their number can differ a little from one epoch's shuffle to the next.
    plans = [plan(lengths, cfg.batch_size, seed=cfg.seed + e, pack_tokens=cfg.pack_tokens) for e in range(cfg.epochs)]
    per_epoch = [len(p) for p in plans]
    total_steps = sum(per_epoch)
    if cfg.max_steps:
        total_steps = min(total_steps, cfg.max_steps)
    epochs = next(e + 1 for e in range(cfg.epochs) if sum(per_epoch[: e + 1]) >= total_steps)

    params = [p for p in model.parameters() if p.requires_grad]
    step_loss = distributed.wrap(_PackLoss(model))
    optimizer = torch.optim.AdamW(params, lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
    warmup = int(cfg.warmup_ratio * total_steps)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _lr_lambda(total_steps, warmup))

    result = FitResult(steps=0, epochs_completed=0)
    start_epoch, skip = 0, 0
    if checkpoint_dir is not None:
        state = checkpoints.load_latest(checkpoint_dir, model, optimizer, scheduler)
        if state is not None:
            start_epoch, skip = state["epoch"], state["step_in_epoch"]
            result = _result_from_state(state["result"])
            result.resumed_from_step = result.steps
            log.info("resuming at step %d (epoch %d)", result.steps, start_epoch + 1)

    def save(epoch: int, step_in_epoch: int) -> None:
        if checkpoint_dir is not None and main:
            checkpoints.save(
                checkpoint_dir,
                result.steps,
                model,
                optimizer,
                scheduler,
                {"epoch": epoch, "step_in_epoch": step_in_epoch, "result": _result_state(result)},
            )

    def evaluate() -> LossResult | None:
        if not main:
            return None
        return evaluate_loss(model, val, batch_size=cfg.batch_size, max_batches=cfg.eval_batches, placement=placement)

    if evaluate_initial and result.steps == 0:
        # LoRA's B matrices start at zero, so this is exactly the base model's loss
        # (or, continuing from an adapter, that adapter's).
        result.initial_val = evaluate()
        callbacks.on_eval(0, result.initial_val)

    model.train()
    step_started = time.perf_counter()
    for epoch in range(start_epoch, epochs):
        for index, indices in enumerate(plans[epoch]):
            if index < skip:  # done before the checkpoint we resumed from
                continue
            if result.steps >= total_steps:
                break
            stop = should_stop is not None and should_stop()
            if stop and world is None:
                raise TrainingCancelled(f"cancelled at step {result.steps}/{total_steps}")
            mine, counts = distributed.my_share(indices)
            pack = make_pack([train[i] for i in mine]).to(placement.device)
            with placement.autocast():
                loss_sum, n = step_loss(pack)
            if world is None:
                loss = loss_sum / max(n, 1)
                step_mean = loss.detach().item()
            else:
                # Scaled by the whole step's target count (times the ranks DDP averages over): the averaged
                # gradient is the one-process gradient of the step's mean loss.
                n_step = sum(_targets(train[i]) for i in indices)
                loss = loss_sum * (world.size if counts else 0.0) / max(n_step, 1)
            loss.backward()
            if world is not None:
                # One small all-reduce: the step's summed loss for the report, and rank 0's cancel flag.
                summed, stops = distributed.all_sum(
                    [loss_sum.detach().item() if counts else 0.0, float(stop)], placement.device
                )
                step_mean = summed / max(n_step, 1)
                if stops:
                    raise TrainingCancelled(f"cancelled at step {result.steps}/{total_steps}")
            torch.nn.utils.clip_grad_norm_(params, cfg.max_grad_norm)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)

            now = time.perf_counter()
            result.steps += 1
            result.tokens_seen += sum(lengths[i] for i in indices)
            result.train_seconds += now - step_started
            step_started = now
            result.train_losses.append(step_mean)
            callbacks.on_step(
                StepInfo(
                    step=result.steps,
                    total_steps=total_steps,
                    epoch=epoch + 1,
                    epochs=epochs,
                    loss=result.train_losses[-1],
                    learning_rate=scheduler.get_last_lr()[0],
                    tokens_per_second=result.tokens_per_second,
                    elapsed=result.train_seconds,
                )
            )
            if cfg.checkpoint_steps and result.steps % cfg.checkpoint_steps == 0:
                save(epoch, index + 1)
                step_started = time.perf_counter()
        skip = 0
        val_result = evaluate()
        result.epochs_completed = epoch + 1
        if val_result is not None:
            result.val_history.append({"epoch": epoch + 1, "step": result.steps, **val_result.as_dict()})
        result.final_val = val_result
        callbacks.on_eval(epoch + 1, val_result)
        save(epoch + 1, 0)
        step_started = time.perf_counter()  # evaluation and saving are not training time
    return result


class _PackLoss(torch.nn.Module):
    """The step's forward as one module, so DDP sees (and hooks) the whole of it, chunked loss included."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, pack):
        return pack_loss(self.model, pack)


def _targets(example: TokenizedExample) -> int:
    """The example's target tokens as ``pack_loss`` counts them (its first token is never a target)."""
    return sum(1 for label in example.labels[1:] if label != -100)


def _result_state(result: FitResult) -> dict:
    """The FitResult as JSON values, for the checkpoint."""
    state = dict(result.__dict__)
    for key in ("initial_val", "final_val"):
        state[key] = None if state[key] is None else dict(state[key].__dict__)
    return state


def _result_from_state(state: dict) -> FitResult:
    state = dict(state)
    for key in ("initial_val", "final_val"):
        state[key] = None if state[key] is None else LossResult(**state[key])
    return FitResult(**state)
