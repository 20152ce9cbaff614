"""One training of the tiny model, run as a script under torchrun by test_distributed.py.

``python -m torch.distributed.run --nproc-per-node N distributed_fit.py MODEL_DIR OUT``: with N = 1 it
is a plain one-process run; with N > 1 every rank trains its share of each step through DDP (gloo).
Rank 0 writes the adapter's weights and the step losses to OUT.
"""

import random
import sys

import torch

from doppel.config import LoraConfig, TrainingConfig
from doppel.dataset.tokenize import TokenizedExample
from doppel.training import distributed
from doppel.training.base_models import ResolvedBase
from doppel.training.fit import fit
from doppel.training.lora import add_lora, load_base
from doppel.training.placement import choose_placement


def examples(vocab: int) -> list[TokenizedExample]:
    """Ten examples of different lengths, the second half of each supervised; fixed by a seed."""
    rng = random.Random(3)
    out = []
    for i in range(10):
        n = rng.randint(12, 40)
        ids = [rng.randrange(vocab) for _ in range(n)]
        out.append(TokenizedExample(ids, [-100] * (n // 2) + ids[n // 2 :], truncated=False, key=f"ex{i}"))
    return out


def main(model_dir: str, out: str) -> None:
    world = distributed.init()
    torch.set_num_threads(1)
    # Batches of 3 over 10 examples: steps split 2/1 between two ranks, and a last step of one example that
    # leaves rank 1 with nothing to count.
    cfg = TrainingConfig(
        epochs=2, batch_size=3, learning_rate=5e-3, warmup_ratio=0.0, precision="fp32", seed=11, eval_batches=1
    )
    placement = choose_placement(cfg)
    base = ResolvedBase(name="tiny", path=model_dir, fingerprint="tiny", local_only=True)
    lora = LoraConfig(r=4, alpha=8, dropout=0.0)
    torch.manual_seed(0)
    model = add_lora(load_base(base, placement), lora)
    data = examples(model.config.vocab_size)
    result = fit(model, data, data[:2], cfg, placement, evaluate_initial=False)
    if world is None or world.is_main:
        from peft import get_peft_model_state_dict

        state = {k: v.detach().clone() for k, v in get_peft_model_state_dict(model).items()}
        torch.save({"adapter": state, "losses": result.train_losses, "steps": result.steps}, out)
    distributed.close()


if __name__ == "__main__":
    main(*sys.argv[1:])
