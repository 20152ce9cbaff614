"""Fit: train loss, and the twin's and the base model's loss on the fixed validation set, against the seed's targets."""

from __future__ import annotations

from doppel.evaluation.setup import EvaluationSetup
from doppel.evaluation.stats import rounded
from doppel.evaluation.style import sample_fields
from doppel.scorecard import Fit, Improvement, Target


def run(setup: EvaluationSetup) -> Fit:
    from doppel.dataset import fixed_val_set
    from doppel.dataset.tokenize import encode
    from doppel.training.perplexity import SEED_TARGETS, evaluate_loss

    local, data, progress = setup.local, setup.data, setup.progress
    val_examples = fixed_val_set(setup.built.val, setup.twin.promotion.gate_examples)
    val = [encode(local.tokenizer, e, data.max_length) for e in val_examples]
    progress("fit", 0, 2)
    reused = _losses_from_training(setup.version.metrics, val_examples, val)
    if reused is not None:
        # Training scored twin and base on exactly this set already; scoring them again would change nothing.
        twin_loss, base_loss = reused
    else:
        twin_loss = evaluate_loss(local.model, val, batch_size=data.batch_size)
        progress("fit", 1, 2)
        with local.base_model_only():
            base_loss = evaluate_loss(local.model, val, batch_size=data.batch_size)
    progress("fit", 2, 2)
    values = {
        "train_loss": setup.version.metrics.get("train_loss"),
        "val_loss": twin_loss.loss if twin_loss else None,
        "val_perplexity": twin_loss.perplexity if twin_loss else None,
    }
    fit = Fit(
        **{k: rounded(v) for k, v in values.items()},
        base_val_loss=rounded(base_loss.loss) if base_loss else None,
        base_val_perplexity=rounded(base_loss.perplexity) if base_loss else None,
        val_examples=twin_loss.examples if twin_loss else 0,
        val_tokens=twin_loss.tokens if twin_loss else 0,
        **sample_fields(twin_loss.examples if twin_loss else 0),
        targets={
            k: Target(value=rounded(values[k]), target=limit, met=values[k] is not None and values[k] < limit)
            for k, limit in SEED_TARGETS.items()
        },
    )
    if twin_loss and base_loss:
        fit.improvement = Improvement(
            val_loss=rounded(base_loss.loss - twin_loss.loss),
            perplexity_ratio=rounded(base_loss.perplexity / twin_loss.perplexity),
        )
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
