"""Training-step speed: doppel's packed step vs. the usual padded batch, same model, same examples.

    python benchmarks/train_step.py [--steps 6] [--batch-size 4] [--repeats 5]
    python benchmarks/train_step.py --steps 2 --repeats 2      # quick check that it runs

Baseline (named): what a default Hugging Face collator + Trainer step does,
pad the batch to its longest example, attend with a 2-D padding mask, and
compute logits for every position (``labels=`` inside the model).
doppel: the same examples packed end to end into one row with a
block-diagonal mask, logits only at the person's tokens.

Both run forward + backward + optimizer step on SmolLM2-135M with LoRA, on the
demo persona's real examples (loaded into a throwaway embedded PostgreSQL).
Each side has its own model and optimizer, both loaded before any timing; one
timed repeat is ``--steps`` steps over the same batches for both sides, the
order alternating (benchmarks/timing.py). Tokens/s counts real tokens only
(padding is not work done).
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import torch
from timing import Metric, add_arguments, compare, median, report, timed

from doppel.config import Settings
from doppel.dataset.packing import pack
from doppel.db import Database
from doppel.demo.load import load_demo
from doppel.demo.persona import generate
from doppel.pipeline import collect_records, prepare_dataset
from doppel.training.base_models import load_tokenizer, resolve_base_model
from doppel.training.lora import add_lora, load_base
from doppel.training.loss import pack_loss


def padded_step(model, examples, pad_id: int) -> None:
    width = max(len(e) for e in examples)
    ids = torch.full((len(examples), width), pad_id)
    labels = torch.full((len(examples), width), -100)
    mask = torch.zeros((len(examples), width), dtype=torch.long)
    for i, e in enumerate(examples):
        ids[i, : len(e)] = torch.tensor(e.input_ids)
        labels[i, : len(e)] = torch.tensor(e.labels)
        mask[i, : len(e)] = 1
    model(input_ids=ids, attention_mask=mask, labels=labels, use_cache=False).loss.backward()


def packed_step(model, examples) -> None:
    loss, n = pack_loss(model, pack(examples))
    (loss / n).backward()


def training_side(model, optimizer, batches, step):
    """One timed repeat: every batch, forward + backward + optimizer step."""

    def run(_: int) -> None:
        for batch in batches:
            step(model, batch)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)

    return timed(run)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=6, help="Optimizer steps per timed repeat")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--home", type=Path, default=None, help="DOPPEL_HOME with a converted base model (speeds up)")
    add_arguments(parser)
    args = parser.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)

    home = args.home or Path(os.environ.get("DOPPEL_HOME", "~/.doppel")).expanduser()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(home=home)
        twin = settings.twin()
        base = resolve_base_model(twin.base_model, home)
        tokenizer = load_tokenizer(base)
        db = Database(Settings(home=Path(tmp)))
        with db.connection() as conn:
            load_demo(conn, generate())
        dataset = prepare_dataset(collect_records(db, twin), twin, tokenizer, twin.training)

    train = dataset.train
    # Mixed lengths, as in real data: take batches from across the shuffled set.
    g = torch.Generator().manual_seed(0)
    order = torch.randperm(len(train), generator=g).tolist()
    size = args.batch_size
    batches = [[train[i] for i in order[s * size : (s + 1) * size]] for s in range(args.steps + 1)]
    warmup, batches = batches[0], batches[1:]
    real_tokens = sum(len(e) for b in batches for e in b)
    padded_tokens = sum(max(len(e) for e in b) * len(b) for b in batches)

    sides = []
    for name, step in (
        ("baseline: padded batch, full logits", lambda m, b: padded_step(m, b, tokenizer.pad_token_id)),
        ("doppel: packed, block mask, target-only logits", packed_step),
    ):
        torch.manual_seed(0)  # the same LoRA initialisation for both
        model = add_lora(load_base(base), twin.lora)
        model.train()
        optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
        # Warm-ups (timing.compare) use a batch no timed repeat uses.
        run = training_side(model, optimizer, batches, step)
        warm = training_side(model, optimizer, [warmup], step)
        sides.append((name, lambda i, run=run, warm=warm: warm(i) if i < 0 else run(i)))

    samples = compare(sides, args.repeats, warmup=args.warmup)
    for side in samples.values():
        side["tokens_per_s"] = [real_tokens / s for s in side["seconds"]]
    print(
        f"\n{args.steps} steps x {args.batch_size} examples per repeat, {real_tokens} real tokens "
        f"({padded_tokens} with padding: {padded_tokens / real_tokens:.2f}x)"
    )
    report(
        samples,
        [
            Metric("seconds", f"wall time of {args.steps} steps"),
            Metric("tokens_per_s", "real tokens per second", "tokens/s", higher_is_better=True),
        ],
    )
    base_name, ours_name = samples
    print(
        f"speed-up of doppel's step over the padded baseline (medians): "
        f"{median(samples, base_name, 'seconds') / median(samples, ours_name, 'seconds'):.2f}x"
    )


if __name__ == "__main__":
    main()
