"""How much GPU memory a training run will need, estimated before anything is loaded.

The seed's deployment reserves 16 GiB of one GPU for a twin's training. A run
that would need more should refuse at once, saying what to lower, rather than
fail with an out-of-memory error minutes in (or take memory another job on the
same GPU was promised). The estimate is deliberately simple and slightly
pessimistic, from the model's config alone:

- base weights: 4-bit NF4 with double quantisation is about 0.53 bytes per
  parameter (embeddings and norms, kept in bf16, at 2); unquantised bf16 at 2;
- LoRA: r × (in + out) parameters per adapted matrix, each with an fp32
  weight, gradient and two Adam moments (16 bytes);
- activations of one step of ``tokens`` positions: with gradient checkpointing
  (the QLoRA path) each layer keeps its input and one layer at a time is
  recomputed; without it every layer keeps about 16 hidden-sized and 3
  intermediate-sized values per position, in bf16;
- logits: only at the person's tokens (at most all ``tokens``) and, past
  ``training.loss.CHUNK_ELEMENTS`` values, one chunk at a time: bf16 logits,
  their fp32 copy and its gradient, 10 bytes per value;
- CUDA context and allocator slack: a flat 1 GiB.
"""

from __future__ import annotations

from dataclasses import dataclass

from doppel.training.loss import CHUNK_ELEMENTS

GIB = 1024**3
CONTEXT_BYTES = 1 * GIB
NF4_BYTES_PER_PARAM = 0.53
# bf16 values a decoder layer keeps per position for its backward pass, in units of the hidden and the
# MLP's intermediate size (norm inputs, q/k/v/o, attention output, residuals; gate, up and their product).
HIDDEN_VALUES_PER_LAYER = 16
INTERMEDIATE_VALUES_PER_LAYER = 3


@dataclass(frozen=True)
class MemoryEstimate:
    weights: int
    lora: int
    activations: int
    logits: int
    context: int

    @property
    def total(self) -> int:
        return self.weights + self.lora + self.activations + self.logits + self.context

    def describe(self) -> str:
        parts = ("weights", "lora", "activations", "logits", "context")
        return ", ".join(f"{name} {getattr(self, name) / GIB:.1f}" for name in parts) + " GiB"


def _shape(config) -> tuple[int, int, int, int, int, int, int]:
    hidden = config.hidden_size
    layers = config.num_hidden_layers
    inter = getattr(config, "intermediate_size", 4 * hidden)
    heads = config.num_attention_heads
    kv_heads = getattr(config, "num_key_value_heads", heads) or heads
    head_dim = getattr(config, "head_dim", None) or hidden // heads
    return hidden, layers, inter, heads, kv_heads, head_dim, config.vocab_size


def estimate(config, *, tokens: int, lora_r: int, quantized: bool, checkpointing: bool) -> MemoryEstimate:
    """Bytes one training step needs on the GPU for a model of ``config`` and packs of ``tokens`` positions."""
    hidden, layers, inter, heads, kv_heads, head_dim, vocab = _shape(config)
    q, kv = heads * head_dim, kv_heads * head_dim
    # Every linear projection of a layer as (in, out): q, k, v, o, gate, up, down.
    matrices = [(hidden, q), (hidden, kv), (hidden, kv), (q, hidden), (hidden, inter), (hidden, inter), (inter, hidden)]
    layer_params = sum(i * o for i, o in matrices)
    embeddings = vocab * hidden * (1 if getattr(config, "tie_word_embeddings", False) else 2)
    per_param = NF4_BYTES_PER_PARAM if quantized else 2.0
    weights = int(layers * layer_params * per_param + embeddings * 2)
    lora = layers * sum(lora_r * (i + o) for i, o in matrices) * 16
    per_layer = tokens * (HIDDEN_VALUES_PER_LAYER * hidden + INTERMEDIATE_VALUES_PER_LAYER * inter) * 2
    if checkpointing:
        activations = layers * tokens * hidden * 2 + per_layer
    else:
        activations = layers * per_layer
    logits = min(tokens * vocab, CHUNK_ELEMENTS) * 10
    return MemoryEstimate(weights, lora, activations, logits, CONTEXT_BYTES)


class GpuMemoryExceeded(RuntimeError):
    pass


def check(
    config, *, tokens: int, lora_r: int, quantized: bool, checkpointing: bool, limit_gib: float
) -> MemoryEstimate:
    """The estimate, or GpuMemoryExceeded naming what to lower when it is over ``limit_gib``."""
    got = estimate(config, tokens=tokens, lora_r=lora_r, quantized=quantized, checkpointing=checkpointing)
    if got.total > limit_gib * GIB:
        advice = [
            "training.pack_tokens (or training.batch_size x training.max_length) for fewer positions per step",
            "lora.r",
        ]
        if not quantized:
            advice.append("training.quantization = 'nf4' (4-bit base weights; needs bitsandbytes)")
        raise GpuMemoryExceeded(
            f"training would need about {got.total / GIB:.1f} GiB of GPU memory ({got.describe()}), over "
            f"training.gpu_memory_limit = {limit_gib:g} GiB. Lower {'; or '.join(advice)}; or raise the limit "
            "if the GPU has the room."
        )
    return got


def checkpointing(cfg, placement) -> bool:
    """Whether a run recomputes layers in the backward pass (``training.gradient_checkpointing``)."""
    if cfg.gradient_checkpointing == "auto":
        return placement.quantization is not None
    return cfg.gradient_checkpointing == "on"


def guard(base_path: str, cfg, lora_r: int, placement, *, local_only: bool = True) -> MemoryEstimate | None:
    """Refuse a CUDA run whose estimate is over ``cfg.gpu_memory_limit``; None on a CPU (nothing to guard)."""
    if placement.device != "cuda":
        return None
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(base_path, local_files_only=local_only)
    tokens = cfg.pack_tokens or cfg.batch_size * cfg.max_length
    quantized = placement.quantization is not None
    return check(
        config,
        tokens=tokens,
        lora_r=lora_r,
        quantized=quantized,
        checkpointing=checkpointing(cfg, placement),
        limit_gib=cfg.gpu_memory_limit,
    )
