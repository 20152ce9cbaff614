import pytest
import torch

from doppel.training.dropout import ByteDropout, use_byte_dropout


def test_byte_dropout_drops_its_share_and_keeps_the_expectation():
    torch.manual_seed(0)
    drop, other = ByteDropout(0.05).train(), ByteDropout(0.05).train()
    x = torch.ones(400, 1000)
    y = drop(x)
    dropped = (y == 0).float().mean().item()
    assert drop.p == 13 / 256 and abs(dropped - drop.p) < 0.003
    assert abs(y.mean().item() - 1.0) < 0.01  # kept values scaled by 1 / (1 - p)
    assert drop(x) is y and other(x) is y  # the same input: its one draw, shared by every layer reading it
    assert not torch.equal(drop(x.clone()), y)  # a fresh mask for every new input
    x.mul_(1.0)
    z = drop(x)
    assert not torch.equal(z, y)  # and for the same tensor changed in place
    other.eval().train()
    assert drop(x) is not z  # a mode switch lets go of the last draw
    # Independent elements: the mask of one row says nothing about the next.
    rows = (y == 0).float()
    assert abs(torch.corrcoef(torch.stack([rows[:-1].flatten(), rows[1:].flatten()]))[0, 1].item()) < 0.01


def test_byte_dropout_is_identity_in_eval_and_at_zero_and_passes_gradients():
    x = torch.randn(3, 7, requires_grad=True)
    assert ByteDropout(0.3).eval()(x) is x and ByteDropout(0.0).train()(x) is x
    torch.manual_seed(1)
    y = ByteDropout(0.5).train()(x)
    y.sum().backward()
    kept = y != 0
    assert torch.allclose(x.grad[kept], torch.full_like(x.grad[kept], 2.0)) and (x.grad[~kept] == 0).all()
    with pytest.raises(ValueError):
        ByteDropout(1.0)


def test_every_lora_dropout_of_a_peft_model_is_swapped():
    from peft import LoraConfig, get_peft_model
    from transformers import LlamaConfig, LlamaForCausalLM

    cfg = LlamaConfig(
        vocab_size=100,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
    )
    model = get_peft_model(LlamaForCausalLM(cfg), LoraConfig(r=4, lora_dropout=0.1, target_modules="all-linear"))
    assert use_byte_dropout(model) == 2 * 7
    kinds = {type(d).__name__ for m in model.modules() if hasattr(m, "lora_dropout") for d in m.lora_dropout.values()}
    assert kinds == {"ByteDropout"}
