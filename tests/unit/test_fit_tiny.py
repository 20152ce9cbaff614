"""Training on a tiny real-architecture model: what training must change, and what it must not."""

import pytest
import torch

from doppel.config import LoraConfig, TrainingConfig
from doppel.dataset.examples import Example
from doppel.dataset.tokenize import encode
from doppel.training import checkpoints
from doppel.training.base_models import ResolvedBase
from doppel.training.fit import TrainingCancelled, fit
from doppel.training.lora import add_lora, load_base
from doppel.training.placement import Placement

CPU = Placement("cpu", None, None, "test cpu fp32")
ANSWERS = [
    "Hey Sam, 12% with an annual prepay. Cheers, Allan",
    "No free pilots. Paid pilot, credited against year one.",
    "Bottom line: we hold the price. Let's keep it simple.",
    "What's the real blocker? Next step with a date, please.",
]


def tokenized(tokenizer, n=8):
    out = []
    for i in range(n):
        ex = Example(
            messages=(
                {"role": "system", "content": "You are Allan."},
                {"role": "user", "content": f"Question {i}: how do we answer the client?"},
                {"role": "assistant", "content": ANSWERS[i % len(ANSWERS)]},
            ),
            split="train",
            source="conversations",
            source_id=str(i),
        )
        out.append(encode(tokenizer, ex, 128))
    return out


def model_from(tiny_model_dir, seed: int = 0):
    base = ResolvedBase("tiny", str(tiny_model_dir), "x", local_only=True)
    return add_lora(load_base(base, CPU), LoraConfig(r=8, alpha=16, dropout=0.1), seed=seed)


def cfg(**kw):
    return TrainingConfig(**{"epochs": 3, "batch_size": 4, "learning_rate": 2e-2, "warmup_ratio": 0.0, **kw})


def split_params(model):
    lora = {n: p.detach().clone() for n, p in model.named_parameters() if "lora_" in n}
    base = {n: p.detach().clone() for n, p in model.named_parameters() if "lora_" not in n}
    return lora, base


def test_training_lowers_loss_moves_lora_and_leaves_base_alone(tiny_model_dir, tokenizer):
    data = tokenized(tokenizer)
    model = model_from(tiny_model_dir)
    lora_before, base_before = split_params(model)
    assert lora_before and all(not p.requires_grad for n, p in model.named_parameters() if "lora_" not in n)

    result = fit(model, data, data, cfg(epochs=20), CPU)

    lora_after, base_after = split_params(model)
    assert result.final_val.loss < result.initial_val.loss - 0.5
    assert result.steps == 40 and result.epochs_completed == 20 and len(result.val_history) == 20
    assert result.tokens_seen == 20 * sum(len(t) for t in data)
    moved = [n for n in lora_before if not torch.equal(lora_before[n], lora_after[n])]
    assert any("lora_B" in n for n in moved) and any("lora_A" in n for n in moved)
    assert all(torch.equal(base_before[n], base_after[n]) for n in base_before)


def test_the_seed_not_the_process_decides_the_adapter_and_the_trained_twin(tiny_model_dir, tokenizer):
    """torch's global generator starts from a different seed in every process: a new adapter drawn from it
    made every run of one configuration a different twin. The training seed decides it now."""
    data = tokenized(tokenizer)
    trained = []
    for global_seed in (1, 2):
        torch.manual_seed(global_seed)  # stands for whatever state the process happens to be in
        state = torch.get_rng_state()
        model = model_from(tiny_model_dir, seed=7)
        assert torch.equal(torch.get_rng_state(), state)  # drawing the adapter leaves the global state alone
        start, _ = split_params(model)
        fit(model, data, data, cfg(max_steps=4, seed=7), CPU, evaluate_initial=False)
        trained.append((start, split_params(model)[0]))
    (start_a, end_a), (start_b, end_b) = trained
    assert any("lora_A" in n and start_a[n].abs().sum() > 0 for n in start_a)
    assert all(torch.equal(start_a[n], start_b[n]) for n in start_a)
    assert all(torch.equal(end_a[n], end_b[n]) for n in end_a)
    other, _ = split_params(model_from(tiny_model_dir, seed=8))
    assert any(not torch.equal(start_a[n], other[n]) for n in start_a if "lora_A" in n)


def test_max_steps_caps_the_run(tiny_model_dir, tokenizer):
    data = tokenized(tokenizer)
    result = fit(model_from(tiny_model_dir), data, data, cfg(max_steps=3), CPU, evaluate_initial=False)
    assert result.steps == 3 and result.initial_val is None


@pytest.mark.parametrize("checkpoint_steps,stop_after,latest", [(0, 2, "step-2"), (1, 3, "step-3")])
def test_interrupted_then_resumed_equals_a_straight_run(
    tiny_model_dir, tokenizer, tmp_path, checkpoint_steps, stop_after, latest
):
    """Killed after an epoch boundary, or in the middle of an epoch: the resumed run ends where a straight one does."""
    data = tokenized(tokenizer)
    straight = model_from(tiny_model_dir)
    fit(straight, data, data, cfg(checkpoint_steps=checkpoint_steps), CPU, checkpoint_dir=tmp_path / "a")

    interrupted = model_from(tiny_model_dir)
    steps = []

    class Count:
        def on_step(self, info):
            steps.append(info.step)

        def on_eval(self, epoch, result):
            pass

    with pytest.raises(TrainingCancelled):
        fit(
            interrupted,
            data,
            data,
            cfg(checkpoint_steps=checkpoint_steps),
            CPU,
            checkpoint_dir=tmp_path / "b",
            callbacks=Count(),
            should_stop=lambda: len(steps) >= stop_after,
        )
    assert checkpoints.latest(tmp_path / "b").name == latest

    resumed = model_from(tiny_model_dir)  # a new process would start from scratch like this
    result = fit(resumed, data, data, cfg(checkpoint_steps=checkpoint_steps), CPU, checkpoint_dir=tmp_path / "b")
    assert result.resumed_from_step == stop_after and result.steps == 6 and len(result.val_history) == 3
    a, _ = split_params(straight)
    b, _ = split_params(resumed)
    for name in a:
        assert torch.allclose(a[name], b[name], atol=1e-6), name
