"""Base model + LoRA adapter, for training and for loading a trained version."""

from __future__ import annotations

import logging
from pathlib import Path

import torch

from doppel.config import LoraConfig
from doppel.training.base_models import ResolvedBase
from doppel.training.dropout import use_byte_dropout
from doppel.training.fused_lora import fuse_lora_forward
from doppel.training.placement import Placement

log = logging.getLogger(__name__)


def load_base(base: ResolvedBase, placement: Placement | None = None):
    """The base model on its device; 4-bit when the placement says so (CUDA only).

    A model for training (a placement given) attends per example within a pack
    (``training.attention``): memory linear in the pack, not quadratic.
    """
    from transformers import AutoModelForCausalLM

    from doppel.training import attention

    kwargs: dict = {"local_files_only": base.local_only, "attn_implementation": "sdpa"}
    if placement is not None and placement.quantization == "nf4":
        from transformers import BitsAndBytesConfig

        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=placement.autocast_dtype,
        )
        # This process's GPU: under torchrun each rank has set its own (training.distributed).
        kwargs["device_map"] = {"": torch.cuda.current_device()}
    else:
        # fp32 on load: LoRA's weights (added later) must train in fp32, small updates vanish in bf16; the
        # frozen matrices go to the autocast dtype below.
        kwargs["dtype"] = torch.float32
    model = AutoModelForCausalLM.from_pretrained(base.path, **kwargs)
    if placement is not None and attention.supports(model.config):
        model.set_attn_implementation(attention.register())
    if placement is not None and placement.quantization is None:
        if placement.autocast_dtype is not None:
            _frozen_in(model, placement.autocast_dtype)
        model.to(placement.device)
    return model


def _frozen_in(model, dtype: torch.dtype) -> None:
    """The base model's matrices (linear layers, embeddings) stored in the autocast dtype.

    They never train, so fp32 buys nothing, and under autocast every matmul
    would cast its fp32 weight down again on every forward: on a 2-core CPU
    that copying was a fifth of a training step. Norm weights stay fp32, and
    LoRA's matrices (added after this, and trained) stay fp32 too.
    """
    for module in model.modules():
        if isinstance(module, torch.nn.Linear | torch.nn.Embedding):
            module.to(dtype)


def _half_dtype() -> torch.dtype:
    return torch.bfloat16 if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else torch.float16


def _frozen_embeddings_in(model, dtype: torch.dtype) -> None:
    """Embeddings and LM head back in the compute dtype after PEFT's k-bit preparation upcast them to fp32.

    They never train, and on an 8B model (128k vocabulary, untied) their fp32 copies hold 4.2 GB instead of
    2.1: the difference between fitting the seed's 8 GiB goal and not. The norms stay in fp32 (tiny).
    """
    for module in (model.get_input_embeddings(), model.get_output_embeddings()):
        if module is not None and module.weight.dtype == torch.float32:
            module.to(dtype)


def add_lora(
    model,
    cfg: LoraConfig,
    *,
    quantized: bool = False,
    from_adapter: Path | None = None,
    checkpointing: bool | None = None,
    seed: int = 0,
):
    """A trainable LoRA adapter on ``model``: new (from ``cfg``), or continuing a saved one.

    A new adapter's starting weights are drawn from ``seed`` (the training seed), not from torch's global
    random state, which differs in every process: the same data and settings then train the same twin.

    ``checkpointing``: recompute each decoder layer in the backward pass instead of keeping its activations
    (memory per position falls to the layer inputs); None means on for a quantized model only.
    """
    from peft import LoraConfig as PeftLoraConfig
    from peft import PeftModel, get_peft_model, prepare_model_for_kbit_training

    checkpointing = quantized if checkpointing is None else checkpointing
    if quantized:
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=checkpointing)
        _frozen_embeddings_in(model, _half_dtype())
    elif checkpointing:
        model.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
        model.enable_input_require_grads()  # the frozen embeddings' output must carry gradients for the recompute
    if from_adapter is not None:
        model = PeftModel.from_pretrained(model, str(from_adapter), is_trainable=True)
    else:
        peft_cfg = PeftLoraConfig(
            r=cfg.r,
            lora_alpha=cfg.alpha,
            lora_dropout=cfg.dropout,
            target_modules=cfg.target_modules,
            task_type="CAUSAL_LM",
        )
        # PEFT draws lora_A (Kaiming-uniform) from the global generator; lora_B starts at zero. Drawn from the
        # global state, two runs of one configuration started from different adapters and so ended as
        # different twins (the same key gave similarity margins 0.006 apart), and every twin depended on
        # whatever had used the generator before it in the process. fork_rng leaves that state as it was.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = get_peft_model(model, peft_cfg)
        trainable, total = model.get_nb_trainable_parameters()
        log.info("LoRA r=%d alpha=%d: %s trainable of %s parameters", cfg.r, cfg.alpha, f"{trainable:,}", f"{total:,}")
    # New or continued, the adapter trains with the cheaper dropout and forward.
    use_byte_dropout(model)
    fuse_lora_forward(model)
    return model


def load_adapter(base_model, adapter_dir: Path):
    """A saved adapter on top of ``base_model``, for inference."""
    from peft import PeftModel

    return PeftModel.from_pretrained(base_model, str(adapter_dir), is_trainable=False)
