"""A version's LoRA adapter folded into its base model: one plain Hugging Face folder.

This is what llama.cpp's converter (and any other tool that knows nothing of
PEFT) reads. The base is loaded in full precision, never 4-bit: merging into
quantized weights would bake the quantization error into the export.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

from doppel.config import Settings, TwinConfig
from doppel.registry import Version


class MergeError(ValueError):
    """The version cannot be merged (no adapter, or a base model that is not there)."""


def merge_version(settings: Settings, twin: TwinConfig, version: Version, out_dir: Path) -> Path:
    """Write base + adapter merged (safetensors) and the version's tokenizer into ``out_dir``."""
    import torch

    from doppel.training.base_models import resolve_base_model
    from doppel.training.lora import load_adapter

    if not (version.adapter_dir / "adapter_config.json").is_file():
        raise MergeError(f"{version.twin} {version.name} has no adapter at {version.adapter_dir}")
    base = resolve_base_model(twin.base_model, settings.home)
    dtype = _weights_dtype(base.path, base.local_only)
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.with_name(f".{out_dir.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")
    try:
        from transformers import AutoModelForCausalLM

        model = AutoModelForCausalLM.from_pretrained(base.path, dtype=dtype, local_files_only=base.local_only)
        with torch.no_grad():
            merged = load_adapter(model, version.adapter_dir).merge_and_unload()
        merged.save_pretrained(tmp, safe_serialization=True)
        _copy_tokenizer(version, base, tmp)
        shutil.rmtree(out_dir, ignore_errors=True)  # a stale merge from an earlier, interrupted run
        os.rename(tmp, out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out_dir


def _weights_dtype(path: str, local_only: bool):
    """The base's own 16-bit dtype when it has one (halves memory for big models), else float32.

    The SmolLM2 base is de-quantized from its GGUF into float32; merging and saving
    in float32 keeps the adapter's small deltas exact until the GGUF step rounds once.
    """
    import torch
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(path, local_files_only=local_only)
    dtype = getattr(config, "dtype", None) or getattr(config, "torch_dtype", None)
    if isinstance(dtype, str):
        dtype = getattr(torch, dtype, None)
    return dtype if dtype in (torch.float16, torch.bfloat16) else torch.float32


def _copy_tokenizer(version: Version, base, folder: Path) -> None:
    """The tokenizer the twin was trained with, byte for byte (its chat template included)."""
    if version.tokenizer_dir.is_dir():
        for item in version.tokenizer_dir.iterdir():
            if item.is_file():
                shutil.copy2(item, folder / item.name)
        return
    from doppel.training.base_models import load_tokenizer

    load_tokenizer(base).save_pretrained(folder)
