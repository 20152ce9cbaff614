"""Training one twin on several processes (GPUs, or CPU processes with gloo) with PyTorch DDP.

The processes are started by ``torchrun`` (``torch.distributed.run``): by
``doppel worker --gpus N`` on one node, or by hand for several nodes
(``torchrun --nnodes ... -m doppel train``). torchrun sets RANK, WORLD_SIZE
and the rendezvous; :func:`init` only joins the process group it describes.

Rank 0 is the run: it reads the data, writes progress and checkpoints,
evaluates, registers the version. Before it loads the model it hands the
others what they need to train (:func:`share`: the tokenized examples, the
base model, the LoRA and training settings), and each of them loads the same
base and trains its share of every step (``training.follower``). A step's examples
are split across ranks and the loss of each is scaled by the step's global
count of target tokens, so DDP's averaged gradient is exactly the gradient a
single process would take on the whole step: the adapter matches a
one-process run with the same global batch.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import torch
import torch.distributed as dist

from doppel.config import LoraConfig, TrainingConfig
from doppel.dataset.tokenize import TokenizedExample
from doppel.training.base_models import ResolvedBase

log = logging.getLogger(__name__)

# Followers wait for rank 0 to collect and tokenize the data before the first step: that can take long on a
# large mailbox, so the collectives may wait this long (the default is 30 minutes).
WAIT = timedelta(hours=6)


@dataclass(frozen=True)
class World:
    rank: int
    size: int
    local_rank: int
    local_size: int

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def launched() -> World | None:
    """The world torchrun started this process in, when it is more than one process."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size <= 1:
        return None
    return World(
        rank=int(os.environ["RANK"]),
        size=size,
        local_rank=int(os.environ.get("LOCAL_RANK", "0")),
        local_size=int(os.environ.get("LOCAL_WORLD_SIZE", str(size))),
    )


def active() -> World | None:
    """The world this process trains in, once :func:`init` has joined it."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() <= 1:
        return None
    return launched()


def init() -> World | None:
    """Join the process group torchrun describes: NCCL across GPUs, gloo on CPUs. None when alone."""
    world = launched()
    if world is None or dist.is_initialized():
        return world
    if torch.cuda.is_available():
        torch.cuda.set_device(world.local_rank)
        backend = "nccl"
    else:
        backend = "gloo"
    dist.init_process_group(backend=backend, timeout=WAIT)
    log.info("rank %d of %d joined (%s)", world.rank, world.size, backend)
    return world


def threads_per_process() -> int:
    """CPU threads for this process: the cores shared among the processes on this node."""
    world = launched()
    per_node = world.local_size if world is not None else 1
    return max(1, (os.cpu_count() or 1) // per_node)


@dataclass
class TrainSpec:
    """What a follower needs to train its share: the same model and the same examples as rank 0."""

    base: ResolvedBase
    lora: LoraConfig
    training: TrainingConfig
    train: list[TokenizedExample]
    from_adapter: Path | None
    checkpointing: bool | None
    checkpoint_dir: Path | None


_shared = False


def share(spec: TrainSpec) -> None:
    """Rank 0: hand the followers their training (a no-op when training alone)."""
    _broadcast(spec)


def release() -> None:
    """Rank 0, when its run ends without training (nothing new, an error): let the followers exit."""
    _broadcast(None)


def _broadcast(spec: TrainSpec | None) -> None:
    """The one message rank 0 sends the followers per run: their training, or None."""
    global _shared
    if active() is None or _shared:
        return
    dist.broadcast_object_list([spec], src=0)
    _shared = True


def close() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def wrap(module: torch.nn.Module) -> torch.nn.Module:
    """``module`` under DDP when training on several processes; itself otherwise.

    Only the adapter trains, so only its gradients are all-reduced; the frozen
    base weights are left out of DDP's start-up broadcast too (every rank
    loaded the same files), which for an 8B model would send 16 GB for nothing.
    """
    world = active()
    if world is None:
        return module
    from torch.nn.parallel import DistributedDataParallel

    frozen = [name for name, p in module.named_parameters() if not p.requires_grad]
    frozen += [name for name, _ in module.named_buffers()]
    DistributedDataParallel._set_params_and_buffers_to_ignore_for_model(module, frozen)
    device_ids = [world.local_rank] if torch.cuda.is_available() else None
    return DistributedDataParallel(module, device_ids=device_ids, broadcast_buffers=False)


def my_share(indices: Sequence[int]) -> tuple[list[int], bool]:
    """This rank's examples of a step, and whether they count.

    A step with fewer examples than ranks leaves some ranks with none: they
    run one example with its loss weighted 0, so every rank still takes part
    in the gradient all-reduce.
    """
    world = active()
    if world is None:
        return list(indices), True
    mine = list(indices[world.rank :: world.size])
    return (mine, True) if mine else ([indices[0]], False)


def all_sum(values: list[float], device: str) -> list[float]:
    """Element-wise sum over the ranks (the values themselves when alone)."""
    if active() is None:
        return values
    tensor = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(tensor)
    return tensor.tolist()
