"""Training speed on a real person: doppel's training loop against TRL's SFTTrainer, same examples, same LoRA.

    pip install -e '.[bench]'                      # TRL, the baseline (not needed otherwise)
    python benchmarks/train_speed.py [--examples 96] [--repeats 5]
    python benchmarks/train_speed.py --examples 16 --repeats 2      # quick check that it runs
    python benchmarks/train_speed.py --memory      # peak memory at pack budgets of 2k, 8k and 32k tokens

The data: one Enron person's sent mail as doppel builds it (Panza's Kay Brown, from ../shared/data or
``--shared``, loaded into a throwaway embedded PostgreSQL: prompts derived from each body, privacy on, the
split by thread), the first ``--examples`` training examples in a fixed shuffled order.

Sides, each its own model (SmolLM2-135M, LoRA r16 α32 dropout 0.05 on every linear layer, the same
initialisation), each trained for one epoch over exactly those examples per timed repeat:

- "TRL default": ``SFTTrainer`` with batch 4, ``max_length`` 512, ``bf16=True`` (CPU autocast) where the CPU
  computes bf16 natively and fp32 where it does not (emulated bf16 is several times slower than fp32 there,
  and doppel trains in fp32 too), examples given already tokenized with the same labels (-100 on the
  prompt), padded per batch (its default);
- "TRL packed": the same with ``packing=True`` (TRL's best-fit-decreasing packing, 512 tokens per row,
  padding-free batches of 4 rows);
- "doppel": ``training.fit`` as a run calls it (batch 4 packed into one row, per-example attention,
  target-only logits; with native bf16, frozen weights in bf16 and bf16 autocast; fp32 otherwise);
- "doppel pack_tokens": the same with ``training.pack_tokens = 2048`` (about TRL packed's tokens per step).

Measured: supervised tokens per second (the person's tokens trained on, the same count for every side)
and positions per second (every token the model ran over, padding included), over the training loop's
wall time (TRL: from ``on_train_begin`` to ``on_train_end``; doppel: ``FitResult.train_seconds``, which
includes building the packs). A warm-up epoch per side first (untimed), then ``--repeats`` per side, the
order rotating (benchmarks/timing.py). Every repeat trains on the same examples; no side keeps a cache between repeats
(no compiled graphs, no KV cache in training).

Also printed: this machine's matmul peak (2048² matmul loops in bf16 and in fp32; the faster is the peak) and
each side's positions/s as a share of it, at 6 FLOP per parameter per position (the usual estimate for a
forward and backward pass; LoRA skips the frozen weights' gradients, so the work done is nearer 4).
``--sides`` runs some of the sides only (doppel always), e.g. to fit a slow machine's time.

``--memory``: for each budget, a fresh process packs examples up to the budget and runs two training
steps; peak RSS per budget, for doppel's per-example attention (with and without gradient checkpointing)
and for the block (L×L) mask it replaced. A side that runs out of memory shows as failed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from timing import Metric, add_arguments, compare, median, report

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests/e2e/panza.py loads the shared person

PERSON = "kay.brown@enron.com"
FLOP_PER_PARAM_POSITION = 6


def shared_folder(given: Path | None) -> Path:
    folder = given or Path(os.environ.get("DOPPEL_SHARED_DATA", ROOT.parent / "shared" / "data"))
    if not (folder / "panza" / "kay_brown.jsonl").exists():
        raise SystemExit(f"the shared Panza data is not in {folder} (give --shared or DOPPEL_SHARED_DATA)")
    return folder


def person_examples(home: Path, shared: Path, max_length: int):
    """Kay Brown's training examples as doppel builds them, the tokenizer, the twin and the base model."""
    from doppel.config import Settings
    from doppel.db import Database
    from doppel.pipeline import collect_records, prepare_dataset
    from doppel.training.base_models import load_tokenizer, resolve_base_model
    from tests.e2e.panza import load_panza

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.model_validate(
            {
                "home": tmp,
                "twins": [
                    {
                        "name": "kay-brown",
                        "persona": {"name": "Kay Brown", "email_pattern": PERSON, "user_id": "kbrown"},
                        "sources": {k: {"enabled": False} for k in ("conversations", "deals", "notes")},
                        "retrieval": {"enabled": False},
                        "training": {"max_length": max_length},
                    }
                ],
            }
        )
        twin = settings.twin()
        base = resolve_base_model(twin.base_model, home)
        tokenizer = load_tokenizer(base)
        db = Database(settings)
        with db.connection() as conn:
            load_panza(
                conn,
                shared / "panza" / "kay_brown.jsonl",
                [shared / "panza" / "jeff_johnson.jsonl"],
                PERSON,
                mailboxes=sorted((shared / "enron").glob("*.jsonl")),
            )
        dataset = prepare_dataset(collect_records(db, twin), twin, tokenizer, twin.training)
    return list(dataset.train), tokenizer, twin, base


def supervised(examples) -> int:
    """Tokens the loss is taken on: each label that is not -100, the first position excepted (nothing
    predicts it), as both doppel and transformers' shifted loss count them."""
    return sum(sum(1 for label in e.labels[1:] if label != -100) for e in examples)


def trl_epoch(seed: int, prefix: str) -> dict:
    """TRL trainer arguments every baseline shares: one epoch of batches of 4 on the CPU, nothing logged,
    saved or reported, no data-loader workers (doppel has none either)."""
    return {
        "output_dir": tempfile.mkdtemp(prefix=prefix),
        "per_device_train_batch_size": 4,
        "num_train_epochs": 1,
        "use_cpu": True,
        "logging_strategy": "no",
        "save_strategy": "no",
        "report_to": [],
        "disable_tqdm": True,
        "dataloader_num_workers": 0,
        "seed": seed,
    }


def peft_model(base, twin, seed: int):
    """The base model in fp32 with a fresh PEFT LoRA of the twin's shape: what a TRL user would train."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_pretrained(base.path, dtype=torch.float32, attn_implementation="sdpa")
    lora = twin.lora
    return get_peft_model(
        model,
        LoraConfig(r=lora.r, lora_alpha=lora.alpha, lora_dropout=lora.dropout, target_modules=lora.target_modules),
    )


def trl_side(base, twin, examples, *, packing: bool, seed: int, bf16: bool):
    from datasets import Dataset
    from transformers import TrainerCallback
    from trl import SFTConfig, SFTTrainer

    model = peft_model(base, twin, seed)
    data = Dataset.from_dict({"input_ids": [e.input_ids for e in examples], "labels": [e.labels for e in examples]})
    args = SFTConfig(
        **trl_epoch(seed, "trl-bench-"),
        learning_rate=twin.training.learning_rate,
        warmup_steps=int(twin.training.warmup_ratio * -(-len(examples) // 4)),
        lr_scheduler_type="cosine",
        max_length=twin.training.max_length,
        packing=packing,
        bf16=bf16,
    )
    clock: dict[str, float] = {}
    positions = [0]

    class Clock(TrainerCallback):
        def on_train_begin(self, *a, **k):
            clock["start"] = time.perf_counter()

        def on_train_end(self, *a, **k):
            clock["end"] = time.perf_counter()

    trainer = SFTTrainer(model=model, args=args, train_dataset=data, callbacks=[Clock()])
    for batch in trainer.get_train_dataloader():  # the positions its batches hold, padding included
        positions[0] += int(batch["input_ids"].numel())

    def run(_: int) -> dict[str, float]:
        trainer.train()
        return {"seconds": clock["end"] - clock["start"], "positions": positions[0]}

    return run


def doppel_side(base, twin, examples, *, pack_tokens: int, seed: int):
    from doppel.dataset.packing import plan
    from doppel.training.fit import fit
    from doppel.training.lora import add_lora, load_base
    from doppel.training.placement import choose_placement

    cfg = twin.training.model_copy(update={"epochs": 1, "batch_size": 4, "pack_tokens": pack_tokens, "seed": seed})
    placement = choose_placement(cfg)
    torch.manual_seed(seed)
    model = add_lora(load_base(base, placement), twin.lora)
    lengths = [len(e) for e in examples]
    positions = sum(sum(lengths[i] for i in p) for p in plan(lengths, 4, seed=seed, pack_tokens=pack_tokens))

    def run(_: int) -> dict[str, float]:
        result = fit(model, examples, [], cfg, placement, evaluate_initial=False)
        return {"seconds": result.train_seconds, "positions": positions}

    return run


def matmul_peak(dtype: torch.dtype, seconds: float = 3.0, n: int = 2048) -> float:
    """GFLOP/s of an n×n matmul loop in ``dtype`` on this machine (the ceiling a training step could reach)."""
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    a @ b
    done, start = 0, time.perf_counter()
    while done < 2 or time.perf_counter() - start < seconds:
        a @ b
        done += 1
    return 2 * n**3 * done / (time.perf_counter() - start) / 1e9


def speed(args) -> None:
    home = args.home or Path(os.environ.get("DOPPEL_HOME", "~/.doppel")).expanduser()
    train, _, twin, base = person_examples(home, shared_folder(args.shared), 512)
    rng = random.Random(0)
    chosen = rng.sample(train, min(args.examples, len(train)))
    n_supervised = supervised(chosen)
    lengths = sorted(len(e) for e in chosen)
    print(
        f"Kay Brown: {len(train)} training examples, {len(chosen)} per repeat (median {lengths[len(lengths) // 2]} "
        f"tokens, {sum(lengths)} in all, {n_supervised} supervised); {torch.get_num_threads()} threads"
    )

    # Warm-ups (untimed) train on the same examples: the first pass at each pack or batch shape pays for
    # allocating its memory, which no timed repeat of any side should.
    from doppel.training.placement import cpu_has_native_bf16

    bf16 = cpu_has_native_bf16()
    precision = "bf16 autocast" if bf16 else "fp32 (this CPU has no native bf16)"
    builders = {
        "TRL default": lambda: trl_side(base, twin, chosen, packing=False, seed=0, bf16=bf16),
        "TRL packed": lambda: trl_side(base, twin, chosen, packing=True, seed=0, bf16=bf16),
        "doppel": lambda: doppel_side(base, twin, chosen, pack_tokens=0, seed=0),
        "doppel pack_tokens=2048": lambda: doppel_side(base, twin, chosen, pack_tokens=2048, seed=0),
    }
    wanted = args.sides or list(builders)
    unknown = [name for name in wanted if name not in builders]
    if unknown or "doppel" not in wanted:
        raise SystemExit(f"--sides: {unknown or 'doppel is needed'}; known: {', '.join(builders)}")
    sides = [(name, builders[name]()) for name in builders if name in wanted]
    samples = compare(sides, args.repeats, warmup=args.warmup)
    for side in samples.values():
        side["supervised_per_s"] = [n_supervised / s for s in side["seconds"]]
        side["positions_per_s"] = [p / s for p, s in zip(side["positions"], side["seconds"], strict=True)]
    report(
        samples,
        [
            Metric("seconds", "wall time of one epoch over the examples"),
            Metric("supervised_per_s", "supervised tokens per second", "tokens/s", higher_is_better=True),
            Metric("positions_per_s", "positions per second (padding included)", "positions/s", True),
        ],
    )
    # The peak is the faster of the two dtypes: a CPU without native bf16 emulates it far below its fp32 speed,
    # and every side then trains in fp32 (doppel's placement and the TRL sides alike).
    peaks = {name: matmul_peak(dtype) for name, dtype in (("bf16", torch.bfloat16), ("fp32", torch.float32))}
    best = max(peaks, key=peaks.__getitem__)
    peak = peaks[best]
    params = sum(p.numel() for p in _count_params(base))
    print(
        f"\nmatmul peak on this machine: bf16 {peaks['bf16']:.1f}, fp32 {peaks['fp32']:.0f} GFLOP/s (shares below are "
        f"of the {best} one); {params / 1e6:.0f}M parameters; the sides trained in {precision}"
    )
    for name in samples:
        pos = median(samples, name, "positions_per_s")
        share = pos * FLOP_PER_PARAM_POSITION * params / (peak * 1e9)
        print(f"  {name}: {pos:.0f} positions/s = {share:.0%} of the peak")
    ours = median(samples, "doppel", "supervised_per_s")
    for baseline in [name for name in ("TRL default", "TRL packed") if name in samples]:
        theirs = median(samples, baseline, "supervised_per_s")
        print(f"doppel vs {baseline} (supervised tokens/s, medians): {ours / theirs:.2f}x")


def _count_params(base):
    from transformers import AutoConfig, AutoModelForCausalLM

    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(base.path))
    return list(model.parameters())


def _available_mib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) / 1024
    return float("inf")


def memory(args) -> None:
    """Peak RSS of two training steps at each budget, each in a fresh process.

    A side whose need, projected from its previous budget (linearly for per-example attention, by the square
    for the block mask: upper bounds), is over the memory available is skipped rather than left to the OOM
    killer."""
    rows = []
    last: dict[str, tuple[int, float]] = {}
    for budget in args.budgets:
        for attention in ("per-example", "per-example, checkpointed", "block mask"):
            if attention in last:
                before, peak = last[attention]
                power = 2 if attention == "block mask" else 1
                projected = peak * (budget / before) ** power
                if projected > 0.9 * _available_mib():
                    rows.append(
                        (
                            budget,
                            attention,
                            None,
                            f"skipped: about {projected / 1024:.0f} GiB projected from "
                            f"{before} tokens, {_available_mib() / 1024:.0f} GiB available",
                        )
                    )
                    continue
            child = [sys.executable, __file__, "--memory-child", str(budget), "--attention", attention]
            if args.shared:
                child += ["--shared", str(args.shared)]
            done = subprocess.run(child, capture_output=True, text=True, check=False)
            line = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
            if done.returncode != 0 or not line.startswith("{"):
                rows.append((budget, attention, None, f"failed (exit {done.returncode})"))
                continue
            got = json.loads(line)
            last[attention] = (budget, got["peak_mib"])
            rows.append((budget, attention, got, ""))
    print("\npeak memory of two training steps (fresh process each; SmolLM2-135M, LoRA r16)")
    print(f"{'pack tokens':>12} {'attention':>26} {'peak RSS MiB':>13} {'s/step':>8}")
    for budget, attention, got, note in rows:
        if got is None:
            print(f"{budget:>12} {attention:>26} {'-':>13} {'-':>8}  {note}")
        else:
            print(f"{budget:>12} {attention:>26} {got['peak_mib']:>13.0f} {got['seconds_per_step']:>8.2f}")


def memory_child(args) -> None:
    from doppel.dataset.packing import pack
    from doppel.training.lora import add_lora, load_base
    from doppel.training.loss import pack_loss
    from doppel.training.placement import choose_placement

    home = args.home or Path(os.environ.get("DOPPEL_HOME", "~/.doppel")).expanduser()
    train, _, twin, base = person_examples(home, shared_folder(args.shared), 512)
    placement = choose_placement(twin.training)
    model = add_lora(load_base(base, placement), twin.lora, checkpointing=args.attention.endswith("checkpointed"))
    if args.attention == "block mask":
        model.base_model.model.set_attn_implementation("sdpa")
    model.train()  # as fit() does: dropout on, and checkpointing only acts in training mode
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    chosen, used, i = [], 0, 0
    while used + len(train[i % len(train)]) <= args.memory_child:
        chosen.append(train[i % len(train)])
        used += len(chosen[-1])
        i += 1
    p = pack(chosen)
    started = time.perf_counter()
    for _ in range(2):
        with placement.autocast():
            loss, n = pack_loss(model, p)
        (loss / n).backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    per_step = (time.perf_counter() - started) / 2
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"tokens": p.n_tokens, "peak_mib": peak_kib / 1024, "seconds_per_step": per_step}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=96, help="Training examples per timed repeat (24 steps of 4)")
    parser.add_argument("--shared", type=Path, default=None, help="The shared data folder (default ../shared/data)")
    parser.add_argument("--home", type=Path, default=None, help="DOPPEL_HOME holding the base model")
    parser.add_argument("--memory", action="store_true", help="Peak memory at pack budgets of 2k, 8k, 32k tokens")
    parser.add_argument("--budgets", type=int, nargs="+", default=[2048, 8192, 32768], help="Pack budgets (--memory)")
    parser.add_argument("--memory-child", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--attention", default="per-example", help=argparse.SUPPRESS)
    parser.add_argument(
        "--sides",
        nargs="+",
        default=None,
        help='Sides to run (default all): "TRL default" "TRL packed" doppel "doppel pack_tokens=2048"',
    )
    add_arguments(parser)
    args = parser.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    if args.memory_child:
        memory_child(args)
    elif args.memory:
        memory(args)
    else:
        speed(args)


if __name__ == "__main__":
    main()
