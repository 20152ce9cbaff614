"""A cheaper forward for PEFT's LoRA linear layers.

PEFT computes ``base(x) + B(A(dropout(x))) * scaling`` as written: the
scaling and the addition are two more passes over the layer's whole output,
forward and backward, for seven layers in every decoder block. Here the B
matmul, the scaling and the addition are one ``addmm_`` into the base output
(which the backward pass does not need, so it can be written in place); the
values and gradients are PEFT's.

Anything but the plain case (several or no active adapters, merged weights,
adapters disabled, DoRA and other variants, extra arguments) takes PEFT's own
forward, so a preference run's reference pass with the adapter switched off
is PEFT's. Saved adapters are PEFT's: only the computation changes.
"""

from __future__ import annotations

import types

import torch
from torch import nn


def fuse_lora_forward(model) -> int:
    """Give every plain LoRA linear layer of ``model`` (a PEFT model) the fused forward; returns how many."""
    from peft.tuners.lora.layer import Linear as LoraLinear

    fused = 0
    for module in model.modules():
        # Exactly PEFT's Linear over an nn.Linear: its 4-bit and 8-bit subclasses have their own forward.
        if type(module) is LoraLinear and type(module.get_base_layer()) is nn.Linear:
            module.forward = types.MethodType(_forward, module)
            fused += 1
    return fused


def _forward(self, x: torch.Tensor, *args, **kwargs) -> torch.Tensor:
    active = self.active_adapters
    name = active[0] if len(active) == 1 else None
    plain = not (args or kwargs or self.disable_adapters or self.merged)
    if not plain or name is None or name not in self.lora_A or name in self.lora_variant:
        return type(self).forward(self, x, *args, **kwargs)
    a, b = self.lora_A[name], self.lora_B[name]
    out = self.base_layer(x)
    low = a(self.lora_dropout[name](x.to(a.weight.dtype))).to(out.dtype)  # no-op in fp32 and under autocast
    weight = b.weight if b.weight.dtype == out.dtype else b.weight.to(out.dtype)
    out.view(-1, out.shape[-1]).addmm_(low.reshape(-1, low.shape[-1]), weight.t(), alpha=self.scaling[name])
    return out
