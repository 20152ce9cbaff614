"""DPO on the tiny model: pairs whose chosen reply carries a marker teach the twin to prefer the marker."""

import pytest
import torch

from doppel.config import LoraConfig, TrainingConfig
from doppel.dataset.examples import Example
from doppel.dataset.tokenize import encode
from doppel.training.base_models import ResolvedBase
from doppel.training.lora import add_lora, load_base
from doppel.training.placement import choose_placement
from doppel.training.preference import (
    TokenizedPair,
    dpo_loss,
    fit_preference,
    preference_accuracy,
    reference_logprobs,
    sequence_logprobs,
)

TOPICS = ["the pricing call", "Friday's demo", "the renewal", "the budget", "the pilot", "the contract", "Q3", "hiring"]


def _example(tokenizer, i: int, prompt: str, reply: str):
    messages = (
        {"role": "system", "content": "You are Allan."},
        {"role": "user", "content": prompt},
        {"role": "assistant", "content": reply},
    )
    return encode(tokenizer, Example(messages, "train", "test", f"{i}-{reply[-6:]}"), 128)


def _pairs(tokenizer) -> list[TokenizedPair]:
    pairs = []
    for i, topic in enumerate(TOPICS):
        prompt = f"Write back to Dana about {topic}."
        chosen = _example(tokenizer, i, prompt, f"Works for me on {topic}. Onwards!")
        rejected = _example(tokenizer, i, prompt, f"Works for me on {topic}. Kind regards.")
        pairs.append(TokenizedPair(chosen, rejected, key=str(i)))
    return pairs


def _endings(pair: TokenizedPair) -> TokenizedPair:
    """The pair scored on the words where the two replies differ only (not the shared start and end of turn)."""
    chosen, rejected = pair.chosen, pair.rejected
    same = next(i for i, (a, b) in enumerate(zip(chosen.input_ids, rejected.input_ids, strict=False)) if a != b)
    tail = next(i for i in range(1, 50) if chosen.input_ids[-i] != rejected.input_ids[-i]) - 1

    def cut(example):
        end = len(example.labels) - tail
        labels = [-100] * same + example.labels[same:end] + [-100] * tail
        return type(example)(example.input_ids, labels, example.truncated, example.key)

    return TokenizedPair(cut(chosen), cut(rejected), key=pair.key)


@pytest.fixture
def tiny(tiny_model_dir):
    cfg = TrainingConfig(precision="fp32")
    placement = choose_placement(cfg)
    base = ResolvedBase(name="tiny", path=str(tiny_model_dir), fingerprint="tiny", local_only=True)
    torch.manual_seed(0)
    return add_lora(load_base(base, placement), LoraConfig(r=8, alpha=16, dropout=0.0)), placement


def test_packed_sequence_logprobs_equal_one_at_a_time(tiny, tokenizer):
    model, placement = tiny
    pairs = _pairs(tokenizer)[:3]
    examples = [p.chosen for p in pairs] + [p.rejected for p in pairs]
    with torch.no_grad():
        together = sequence_logprobs(model, examples, placement)
        alone = torch.cat([sequence_logprobs(model, [e], placement) for e in examples])
    assert torch.allclose(together, alone, atol=1e-4)
    assert (together < 0).all()


def test_dpo_loss_is_log2_at_the_reference_and_falls_with_the_margin():
    zero = torch.zeros(3)
    assert dpo_loss(zero, zero, zero, zero, 0.1).item() == pytest.approx(0.6931, abs=1e-4)
    better = dpo_loss(torch.full((3,), 5.0), zero, zero, zero, 0.1)
    worse = dpo_loss(zero, torch.full((3,), 5.0), zero, zero, 0.1)
    assert better.item() < 0.6931 < worse.item()


def test_dpo_raises_the_marked_reply_and_lowers_the_rejected_one(tiny, tokenizer):
    model, placement = tiny
    pairs = _pairs(tokenizer)
    train, held_out = pairs[:6], pairs[6:]
    replay = [_example(tokenizer, 100 + i, f"Any news on {t}?", f"Not yet on {t}.") for i, t in enumerate(TOPICS)]
    endings = [_endings(p) for p in train]
    before = reference_logprobs(model, pairs, placement)
    endings_before = reference_logprobs(model, endings, placement)
    accuracy_before = preference_accuracy(model, held_out, placement)
    frozen = {n: p.detach().clone() for n, p in model.named_parameters() if not p.requires_grad}

    result = fit_preference(
        model, train, replay, placement, epochs=8, batch_size=3, learning_rate=5e-3, beta=0.5, seed=1
    )

    after = reference_logprobs(model, pairs, placement)
    assert result.steps == 16 and result.dpo_losses[-1] < result.dpo_losses[0]
    for pair in train:
        chosen_before, rejected_before = before[pair.key]
        chosen_after, rejected_after = after[pair.key]
        assert chosen_after - rejected_after > chosen_before - rejected_before + 1.0
    # Given the words both replies share, the marker's likelihood rose and the rejected ending's fell.
    endings_after = reference_logprobs(model, endings, placement)
    for pair in endings:
        assert endings_after[pair.key][0] > endings_before[pair.key][0], pair.key
        assert endings_after[pair.key][1] < endings_before[pair.key][1], pair.key
    # Prompts never trained on prefer the marker too: the preference generalised, not memorised.
    assert preference_accuracy(model, held_out, placement) == 1.0 >= accuracy_before
    for name, weight in model.named_parameters():
        if not weight.requires_grad:
            assert torch.equal(weight, frozen[name]), name
