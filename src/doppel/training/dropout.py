"""LoRA's input dropout with a cheaper random source.

PEFT applies ``nn.Dropout`` to the input of every LoRA pair: seven modules per
layer, each drawing a fresh Bernoulli mask the size of its input. On a CPU
that sampling was a third of a training step's forward pass (torch draws
each Bernoulli value on its own). Here one 64-bit random integer gives eight
mask bytes, and an element is kept when its byte is at least
``round(p * 256)``: the same independent masks, with the probability rounded
to a multiple of 1/256 (0.05 becomes 0.0508), four times faster. Kept values
are scaled by 1 / (1 - p) as usual, and the module does nothing in eval mode.
For the backward pass only the one-byte mask is kept, not a copy in the
input's dtype (fp32 after a norm under autocast: 4 bytes per value, for seven
modules in every layer).

Layers that read one tensor share its draw: a decoder block's q, k and v
projections get the same input, and so do its gate and up projections, so
the second and third calls give back the tensor the first one made (four
draws per block instead of seven, one mask kept instead of three): dropout on
the block's normalised input, as many LoRA implementations apply it, rather
than PEFT's independent mask per layer, at the same rate. A new tensor, or
the same one changed in place, gets a fresh draw. Under gradient
checkpointing the recomputed forward restores the random state and makes the
same draws in the same order, so its masks are the first pass's.
"""

from __future__ import annotations

import threading

import torch
from torch import nn

# This thread's last draw: (input, its version, the cut, the output). A block's layers run one after another,
# so one slot finds every repeat. The tensors are held, not weakly referenced: under gradient checkpointing
# autograd does not keep the output alive, and a draw lost between q and k would make the forward draw more
# masks than its recomputation, which then drops different values. Only the last draw is held (one input
# and one output of a layer, the next draw replaces them).
_last = threading.local()


class ByteDropout(nn.Module):
    def __init__(self, p: float) -> None:
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout probability must be in [0, 1), got {p}")
        self.cut = round(p * 256)
        self.p = self.cut / 256  # the probability actually used

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.cut == 0:
            return x
        last = getattr(_last, "draw", None)
        if last is not None:
            source, version, cut, made = last
            if source is x and version == x._version and cut == self.cut:
                return made
        n = x.numel()
        words = torch.empty(-(-n // 8), dtype=torch.int64, device=x.device).random_(-(2**63), None)
        keep = words.view(torch.uint8)[:n].view(x.shape) >= self.cut
        y = _Masked.apply(x, keep, 1.0 / (1.0 - self.p))
        _last.draw = (x, x._version, self.cut, y)
        return y

    def train(self, mode: bool = True):
        # Switching modes (fit starts in train, evaluation switches to eval) lets go of the last draw, and
        # with it whatever graph it hangs on (a forward that was never backpropagated, say).
        _last.draw = None
        return super().train(mode)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class _Masked(torch.autograd.Function):
    """x * keep * scale, keeping only the bool mask for the backward pass."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, keep: torch.Tensor, scale: float) -> torch.Tensor:
        ctx.save_for_backward(keep)
        ctx.scale = scale
        return x * keep.to(x.dtype) * scale

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (keep,) = ctx.saved_tensors
        return grad * keep.to(grad.dtype) * ctx.scale, None, None


def use_byte_dropout(model) -> int:
    """Swap every LoRA input dropout of ``model`` (a PEFT model) for ``ByteDropout``; returns how many."""
    swapped = 0
    for module in model.modules():
        dropouts = getattr(module, "lora_dropout", None)
        if not isinstance(dropouts, nn.ModuleDict):
            continue
        for name, layer in list(dropouts.items()):
            if isinstance(layer, nn.Dropout) and layer.p > 0:
                dropouts[name] = ByteDropout(layer.p)
                swapped += 1
    return swapped
