import copy

import torch

from doppel.training.dropout import use_byte_dropout
from doppel.training.fused_lora import fuse_lora_forward
from tests.unit.test_packing import tiny_model


def _tiny_lora(dropout: float = 0.0):
    from peft import LoraConfig, get_peft_model

    model = get_peft_model(tiny_model(), LoraConfig(r=4, lora_dropout=dropout, target_modules="all-linear"))
    for name, p in model.named_parameters():
        if "lora_B" in name:  # PEFT starts B at zero: the LoRA path would add nothing to compare
            torch.nn.init.normal_(p, std=0.1)
    use_byte_dropout(model)
    return model


def _outputs_and_grads(model, ids):
    model.zero_grad()
    out = model(input_ids=ids).logits
    out.float().pow(2).mean().backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.requires_grad}
    return out.detach(), grads


def test_fused_forward_gives_peft_outputs_and_gradients():
    peft_model = _tiny_lora()
    fused = copy.deepcopy(peft_model)
    assert fuse_lora_forward(fused) == 2 * 7
    ids = torch.randint(0, 100, (2, 9))
    want, want_grads = _outputs_and_grads(peft_model.train(), ids)
    got, got_grads = _outputs_and_grads(fused.train(), ids)
    assert torch.allclose(got, want, atol=1e-5)
    assert want_grads.keys() == got_grads.keys() and len(got_grads) == 2 * 7 * 2  # A and B of every layer
    for name, grad in want_grads.items():
        assert grad.abs().sum() > 0 and torch.allclose(got_grads[name], grad, atol=1e-5), name
    # Adding into the base output in place leaves the frozen weights alone: the same outputs a second time.
    assert torch.allclose(_outputs_and_grads(fused, ids)[0], want, atol=1e-5)
    frozen = dict(peft_model.named_parameters())
    assert all(torch.equal(p, frozen[n]) for n, p in fused.named_parameters() if not p.requires_grad)


def test_with_the_adapter_switched_off_the_fused_model_is_the_base_model():
    fused, peft_model = _tiny_lora(), _tiny_lora()  # the same seed: the same weights
    fuse_lora_forward(fused)
    ids = torch.randint(0, 100, (1, 7))
    with torch.no_grad():
        on = fused(input_ids=ids).logits
        with fused.disable_adapter(), peft_model.disable_adapter():
            off = fused(input_ids=ids).logits
            assert torch.equal(off, peft_model(input_ids=ids).logits)  # PEFT's own path, untouched
    assert not torch.allclose(on, off, atol=1e-3)


def test_layers_reading_one_input_share_its_dropout_draw():
    model = _tiny_lora(dropout=0.5)
    fuse_lora_forward(model)
    seen: dict[str, torch.Tensor] = {}

    def keep(name):
        def hook(module, args, output):
            seen[name] = output

        return hook

    block = model.get_base_model().model.layers[0]
    layers = {
        "q": block.self_attn.q_proj,
        "k": block.self_attn.k_proj,
        "v": block.self_attn.v_proj,
        "o": block.self_attn.o_proj,
        "gate": block.mlp.gate_proj,
        "up": block.mlp.up_proj,
    }
    for name, layer in layers.items():
        layer.lora_dropout["default"].register_forward_hook(keep(name))
    model.train()(input_ids=torch.randint(0, 100, (1, 50)))
    assert seen["q"] is seen["k"] is seen["v"] and seen["gate"] is seen["up"]
    assert (seen["q"] == 0).any() and seen["o"] is not seen["q"] and seen["gate"] is not seen["q"]
