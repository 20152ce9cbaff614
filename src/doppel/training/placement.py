"""Where and in what precision a model trains: QLoRA on CUDA, bf16 or fp32 on CPU."""

from __future__ import annotations

import importlib.util
import logging
from contextlib import nullcontext
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import torch

from doppel.config import TrainingConfig

log = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def cpu_has_native_bf16() -> bool:
    """True when the CPU computes bf16 in hardware (AVX512-BF16 or AMX); emulated bf16 is slower than fp32."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


@dataclass(frozen=True)
class Placement:
    device: str  # "cpu" | "cuda"
    quantization: str | None  # "nf4" or None
    autocast_dtype: torch.dtype | None
    description: str

    def autocast(self):
        if self.autocast_dtype is None:
            return nullcontext()
        return torch.autocast(device_type=self.device, dtype=self.autocast_dtype)


def choose_placement(cfg: TrainingConfig) -> Placement:
    if torch.cuda.is_available():
        has_bnb = importlib.util.find_spec("bitsandbytes") is not None
        quant = "nf4" if cfg.quantization == "nf4" or (cfg.quantization == "auto" and has_bnb) else None
        if quant and not has_bnb:
            raise RuntimeError("training.quantization = 'nf4' needs bitsandbytes (pip install bitsandbytes)")
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        what = f"4-bit NF4 QLoRA, {str(dtype).removeprefix('torch.')} compute" if quant else "LoRA"
        placement = Placement("cuda", quant, dtype, f"CUDA ({torch.cuda.get_device_name(0)}): {what}")
    else:
        if cfg.quantization == "nf4":
            log.warning("training.quantization = 'nf4' needs a CUDA GPU; training unquantized on CPU")
        bf16 = cfg.precision == "bf16" or (cfg.precision == "auto" and cpu_has_native_bf16())
        if bf16:
            placement = Placement("cpu", None, torch.bfloat16, "CPU: LoRA under bf16 autocast")
        else:
            why = "" if cfg.precision == "fp32" else " (this CPU has no native bf16)"
            placement = Placement("cpu", None, None, f"CPU: LoRA in fp32{why}")
    log.info("training on %s", placement.description)
    return placement
