"""The GPU memory guard's estimate, on the real shapes of the seed's 8B deployment (config only, no weights)."""

import pytest
from transformers import LlamaConfig

from doppel.config import TrainingConfig
from doppel.training.memory import GIB, GpuMemoryExceeded, check, estimate, guard
from doppel.training.placement import Placement

# Llama-3-8B's shape: what the seed deploys with QLoRA on one GPU.
LLAMA_8B = LlamaConfig(
    hidden_size=4096,
    intermediate_size=14336,
    num_hidden_layers=32,
    num_attention_heads=32,
    num_key_value_heads=8,
    vocab_size=128256,
    tie_word_embeddings=False,
)


def test_qlora_8b_at_four_512_token_examples_is_well_under_the_16_gib_reservation():
    got = estimate(LLAMA_8B, tokens=4 * 512, lora_r=16, quantized=True, checkpointing=True)
    print(got.describe(), f"= {got.total / GIB:.1f} GiB")
    assert 6 * GIB < got.total <= 10 * GIB
    # 7B of layer weights in 4 bits (3.7 GB) and the untied 128k-word embeddings and head in bf16 (2.1 GB).
    assert 5 * GIB < got.weights < 6 * GIB
    assert 0.6 * GIB < got.lora < 0.7 * GIB  # 42M LoRA parameters at 16 bytes with their Adam state
    assert got.logits <= 0.35 * GIB  # chunked: never the full 2048 x 128k


def test_memory_grows_linearly_with_the_pack():
    sizes = [estimate(LLAMA_8B, tokens=t, lora_r=16, quantized=True, checkpointing=True) for t in (2048, 8192, 32768)]
    grown = [s.activations for s in sizes]
    assert grown[1] == 4 * grown[0] and grown[2] == 16 * grown[0]
    assert sizes[0].logits == sizes[2].logits  # one chunk at a time, whatever the pack


def test_an_unquantized_8b_run_is_refused_with_what_to_lower():
    with pytest.raises(GpuMemoryExceeded) as refused:
        check(LLAMA_8B, tokens=2048, lora_r=16, quantized=False, checkpointing=False, limit_gib=16)
    message = str(refused.value)
    assert "training.gpu_memory_limit = 16 GiB" in message
    for key in ("training.pack_tokens", "lora.r", "training.quantization = 'nf4'"):
        assert key in message


def test_the_guard_reads_the_model_config_and_skips_a_cpu(tmp_path):
    LLAMA_8B.save_pretrained(tmp_path)
    qlora = Placement("cuda", "nf4", None, "test")
    cfg = TrainingConfig()
    assert guard(str(tmp_path), cfg, 16, qlora).total <= 10 * GIB
    tight = cfg.model_copy(update={"gpu_memory_limit": 4.0, "pack_tokens": 32768})
    with pytest.raises(GpuMemoryExceeded, match="over training.gpu_memory_limit = 4 GiB"):
        guard(str(tmp_path), tight, 16, qlora)
    assert guard(str(tmp_path), tight, 16, Placement("cpu", None, None, "test")) is None


def test_qlora_preparation_leaves_the_frozen_embeddings_in_half_precision(tiny_model_dir):
    """PEFT's k-bit preparation upcasts every non-4-bit weight to fp32; the embeddings and LM head go back
    (an 8B model's would cost 2 GiB more), the norms stay fp32 and the adapter trains in fp32."""
    import torch
    from transformers import AutoModelForCausalLM

    from doppel.config import LoraConfig
    from doppel.training.lora import add_lora

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.bfloat16)
    model = add_lora(model, LoraConfig(r=4, alpha=8), quantized=True, checkpointing=True)
    assert model.get_input_embeddings().weight.dtype != torch.float32
    assert model.get_output_embeddings().weight.dtype != torch.float32
    norms = [m for n, m in model.named_modules() if n.endswith("norm")]
    assert norms and all(m.weight.dtype == torch.float32 for m in norms)
    trainable = [p for p in model.parameters() if p.requires_grad]
    assert trainable and all(p.dtype == torch.float32 for p in trainable)
