"""The ranks above 0 of a distributed training: they train their share of each step of rank 0's run.

Apart from ``training.distributed`` because they run the training loop, which uses that module.
"""

from __future__ import annotations

import logging

import torch

from doppel.training import distributed
from doppel.training.fit import TrainingCancelled, fit
from doppel.training.lora import add_lora, load_base
from doppel.training.placement import choose_placement

log = logging.getLogger(__name__)


def follow() -> bool:
    """Ranks above 0: wait for rank 0's spec and train with it; False when there is nothing to train."""
    received: list[distributed.TrainSpec | None] = [None]
    torch.distributed.broadcast_object_list(received, src=0)
    spec = received[0]
    if spec is None:
        return False
    torch.set_num_threads(distributed.threads_per_process())
    placement = choose_placement(spec.training)
    model = add_lora(
        load_base(spec.base, placement),
        spec.lora,
        quantized=placement.quantization is not None,
        from_adapter=spec.from_adapter,
        checkpointing=spec.checkpointing,
        seed=spec.training.seed,
    )
    try:
        fit(model, spec.train, [], spec.training, placement, checkpoint_dir=spec.checkpoint_dir, evaluate_initial=False)
    except TrainingCancelled:
        log.info("rank %d: the run was cancelled", torch.distributed.get_rank())
    return True
