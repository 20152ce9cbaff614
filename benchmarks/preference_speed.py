"""Preference (DPO) training speed on a real person: doppel's loop against TRL's DPOTrainer, the same pairs.

    pip install -e '.[bench]'                          # TRL, the baseline (not needed otherwise)
    python benchmarks/preference_speed.py [--pairs 24] [--repeats 5]
    python benchmarks/preference_speed.py --pairs 8 --repeats 1      # quick check that it runs

Issue 19 asked whether the DPO loss belongs in doppel's own loop or in TRL's ``DPOTrainer``: "if that proves
simpler and as fast: measure". This measures it.

The pairs: Kay Brown's training examples as doppel builds them (see benchmarks/train_speed.py), the first
``--pairs`` of a fixed shuffle; each pair is an example's prompt with her real reply as chosen and the reply
of the next example as rejected (lengths and vocabulary of real replies on both sides).

Sides, each its own model (SmolLM2-135M, LoRA r16 α32 dropout 0.05 on every linear layer, the same
initialisation, bf16 autocast where the CPU has native bf16, else fp32, as doppel decides), each trained
for one epoch over the pairs per timed repeat, 4 pairs a step, beta 0.1, learning rate 1e-4, no SFT replay
(TRL has none):

- "TRL DPOTrainer": its defaults otherwise (padded batches of prompt+chosen and prompt+rejected; the
  reference is the same model with the adapter disabled, run in every step). Given the prompt, chosen and
  rejected as the same text doppel tokenizes (the chat template already applied), so both train on the same
  tokens, but for the EOS TRL appends after the template's end of turn (one token more per reply).
  Timed: ``trainer.train()``.
- "doppel": ``training.preference.fit_preference`` as a preference run calls it (chosen and rejected of a
  step packed into one row, per-example attention, target-only logits; the reference log-probabilities
  computed once before the first step, in the same call). Timed: the whole call.

Measured: pairs per second over the epoch and seconds per epoch. A warm-up epoch per side (untimed), then
``--repeats`` per side, alternating which goes first (benchmarks/timing.py). No side keeps a cache between
repeats: doppel computes its reference again in every call, TRL in every step.
"""

from __future__ import annotations

import argparse
import os
import random
import time
from pathlib import Path

import torch
from timing import Metric, add_arguments, compare, median, report
from train_speed import peft_model, person_examples, shared_folder, trl_epoch

BATCH = 4  # pairs per step (trl_epoch's batch size)
BETA = 0.1
LEARNING_RATE = 1e-4


def make_pairs(train, count: int):
    """``count`` (prompt ids, chosen ids, rejected ids): an example's own reply against the next one's."""
    rng = random.Random(0)
    picked = rng.sample(train, min(count + 1, len(train)))
    out = []
    for example, other in zip(picked, picked[1:]):
        cut = next(i for i, label in enumerate(example.labels) if label != -100)
        other_cut = next(i for i, label in enumerate(other.labels) if label != -100)
        out.append((list(example.input_ids[:cut]), list(example.input_ids[cut:]), list(other.input_ids[other_cut:])))
    return out


def doppel_side(base, twin, pairs, *, seed: int):
    from doppel.dataset.tokenize import TokenizedExample
    from doppel.training.lora import add_lora, load_base
    from doppel.training.placement import choose_placement
    from doppel.training.preference import TokenizedPair, fit_preference

    def example(prompt, reply, key: str) -> TokenizedExample:
        return TokenizedExample(input_ids=prompt + reply, labels=[-100] * len(prompt) + reply, truncated=False, key=key)

    tokenized = [
        TokenizedPair(chosen=example(p, c, f"{i}+"), rejected=example(p, r, f"{i}-"), key=str(i))
        for i, (p, c, r) in enumerate(pairs)
    ]
    placement = choose_placement(twin.training)
    torch.manual_seed(seed)
    model = add_lora(load_base(base, placement), twin.lora)

    def run(_: int) -> dict[str, float]:
        started = time.perf_counter()
        fit_preference(
            model,
            tokenized,
            [],
            placement,
            epochs=1,
            batch_size=BATCH,
            learning_rate=LEARNING_RATE,
            beta=BETA,
            replay_weight=0.0,
            seed=seed,
        )
        return {"seconds": time.perf_counter() - started}

    return run


def trl_side(base, twin, tokenizer, pairs, *, seed: int):
    from datasets import Dataset
    from transformers import TrainerCallback
    from trl import DPOConfig, DPOTrainer

    from doppel.training.placement import choose_placement

    # bf16 autocast where doppel uses it (a CPU with native bf16); elsewhere fp32, as doppel: emulated bf16
    # matmuls on an AVX2-only CPU took minutes per step.
    bf16 = choose_placement(twin.training).autocast_dtype == torch.bfloat16
    model = peft_model(base, twin, seed)
    decode = lambda ids: tokenizer.decode(ids, skip_special_tokens=False)  # noqa: E731
    data = Dataset.from_dict(
        {
            "prompt": [decode(p) for p, _, _ in pairs],
            "chosen": [decode(c) for _, c, _ in pairs],
            "rejected": [decode(r) for _, _, r in pairs],
        }
    )
    args = DPOConfig(
        **trl_epoch(seed, "trl-dpo-bench-"),
        learning_rate=LEARNING_RATE,
        beta=BETA,
        max_length=twin.training.max_length,
        bf16=bf16,
    )
    clock: dict[str, float] = {}

    class Clock(TrainerCallback):
        def on_train_begin(self, *a, **k):
            clock["start"] = time.perf_counter()

        def on_train_end(self, *a, **k):
            clock["end"] = time.perf_counter()

    trainer = DPOTrainer(model=model, args=args, train_dataset=data, processing_class=tokenizer, callbacks=[Clock()])
    first = trainer.train_dataset[0]
    theirs, ours = first["prompt_ids"] + first["chosen_ids"], pairs[0][0] + pairs[0][1]
    print(f"TRL tokenized the first pair as doppel did: {theirs == ours} ({len(theirs)} and {len(ours)} tokens)")
    if theirs != ours:
        print(f"  first difference at token {next((i for i, (a, b) in enumerate(zip(theirs, ours)) if a != b), None)}")

    def run(_: int) -> dict[str, float]:
        started = time.perf_counter()
        trainer.train()
        return {"seconds": time.perf_counter() - started, "loop_seconds": clock["end"] - clock["start"]}

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=24, help="Preference pairs per epoch (4 per step)")
    parser.add_argument("--shared", type=Path, default=None, help="The shared data folder (default: ../shared/data)")
    parser.add_argument("--home", type=Path, default=None, help="Where the base model is unpacked (DOPPEL_HOME)")
    add_arguments(parser)
    args = parser.parse_args()
    home = args.home or Path(os.environ.get("DOPPEL_HOME", "~/.doppel")).expanduser()
    train, tokenizer, twin, base = person_examples(home, shared_folder(args.shared), 512)
    pairs = make_pairs(train, args.pairs)
    tokens = sum(2 * len(p) + len(c) + len(r) for p, c, r in pairs)
    print(
        f"Kay Brown: {len(pairs)} pairs per epoch ({BATCH} per step), {tokens} tokens in prompt+chosen and "
        f"prompt+rejected; {torch.get_num_threads()} threads"
    )
    sides = [
        ("TRL DPOTrainer", trl_side(base, twin, tokenizer, pairs, seed=0)),
        ("doppel", doppel_side(base, twin, pairs, seed=0)),
    ]
    samples = compare(sides, args.repeats, warmup=args.warmup)
    for side in samples.values():
        side["pairs_per_s"] = [len(pairs) / s for s in side["seconds"]]
    report(
        samples,
        [
            Metric("seconds", "wall time of one epoch over the pairs (doppel: with its reference pass)"),
            Metric("pairs_per_s", "preference pairs per second", "pairs/s", higher_is_better=True),
        ],
    )
    ours, theirs = median(samples, "doppel", "pairs_per_s"), median(samples, "TRL DPOTrainer", "pairs_per_s")
    print(f"doppel vs TRL DPOTrainer (pairs/s, medians): {ours / theirs:.2f}x")


if __name__ == "__main__":
    main()
