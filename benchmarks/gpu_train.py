"""QLoRA training on a GPU: doppel's training loop against TRL's SFTTrainer, on a Llama-3.1-8B-shaped model.

    pip install -e '.[bench,gpu]'                           # TRL (the baseline) and bitsandbytes
    python benchmarks/gpu_train.py                          # Llama-3.1-8B shape, 5 repeats of 8 steps per side
    python benchmarks/gpu_train.py --arch llama-3.2-1b      # a smaller real shape
    python benchmarks/gpu_train.py --model-dir /tmp/rand8b  # keep the random model (16 GB) for the next run
    python benchmarks/gpu_train.py --tiny --cpu --repeats 1 --steps 2   # smoke run without a GPU (seconds)

The model: a real architecture and size built from its config alone, with random weights (nothing is
downloaded; speed and memory do not depend on the values). It is saved once in bf16 (with a stand-in
tokenizer that only names the pad and end tokens) and each side loads it 4-bit NF4 with double
quantisation and bf16 compute through bitsandbytes, as doppel's ``load_base`` does on CUDA. ``--arch``:
``llama-3.1-8b`` (default: hidden 4096, 32 layers, 32 heads, 8 KV heads, MLP 14336, vocabulary 128256,
RoPE θ 500000), ``llama-3.2-3b``, ``llama-3.2-1b``; ``--tiny`` a 2-layer, hidden-64 Llama (on a GPU, a
quick check of the whole quantized path; with ``--cpu``, the smoke test below).

The data: ``--steps`` × 4 examples of ``--length`` (512) random token ids, the first half of each a prompt
(label -100) unless ``--prompt-share 0`` supervises every token; ``--varied`` draws lengths between a
quarter of ``--length`` and all of it (TRL then pads each batch to its longest). Both sides train on
exactly these examples, 4 per optimizer step, LoRA r16 α32 dropout 0.05 on every linear layer, AdamW at
2e-4, gradient clipping at 1.0, gradient checkpointing on.

Sides:

- "doppel": ``training.fit`` as a run calls it on CUDA (``choose_placement`` with ``quantization = 'nf4'``,
  ``load_base``, ``add_lora(quantized=True)``): the 4 examples packed into one row with per-example
  attention (``doppel_packed``: SDPA per example, no L×L mask), logits only at supervised positions and,
  past ``training.loss.CHUNK_ELEMENTS``, one chunk at a time, so full-vocabulary logits are never held.
  ``--liger`` swaps that loss for liger-kernel's fused linear cross entropy (which never materialises the
  logits at all). liger-kernel is on PyPI (``liger-kernel``, 0.8.5 at the time of writing) but is not a
  dependency of doppel and was not installed where this script was written, so that option is untried.
- "TRL SFTTrainer": TRL's ``SFTTrainer`` set up for QLoRA as its docs show: the model loaded with the same
  ``BitsAndBytesConfig`` (non-quantized weights in bf16), ``peft_config`` with the same LoRA (TRL wraps the
  model itself and, for a quantized model, keeps the LoRA weights in bf16), ``gradient_checkpointing=True``
  (non-reentrant, as doppel's), ``bf16=True``, batch 4, ``max_length`` = ``--length``, its default padding
  (no packing), the examples given tokenized with the same ``labels``. TRL 1.16 projects through the LM
  head only at supervised positions, in tiles (its ``add_fused_lm_head``), and also computes each
  position's entropy and top-1 hit for its logged metrics.

Measured per timed repeat (one pass over the same ``--steps`` steps): supervised tokens per second (tokens
the loss is taken on: the same count on both sides), over the training loop's wall time with the GPU
synchronised at both ends (doppel: the ``fit`` call; TRL: ``on_train_begin`` to ``on_train_end``), and the
peak GPU memory of that repeat (``torch.cuda.max_memory_allocated``, reset before it; the weights count).
Each side runs in its own fresh child process, so neither reuses the other's CUDA allocator, cache or
compiled kernels. By default both children stay up for the whole run and the parent alternates which
one trains (the idle one keeps its model loaded but hands its allocator's cache back after each repeat);
``--one-at-a-time`` instead starts a fresh child per side per repeat, loading the model each time,
for a card that holds one side only. One untimed warm-up pass per side first (``--warmup``), then
``--repeats`` (at least 5 for numbers worth quoting), the order alternating (benchmarks/timing.py).
Printed: min / median / max per side, the ratio of the medians, doppel's own memory estimate
(``training/memory.py``) beside the measured peaks, and the goals: a peak of at most 8 GiB training the 8B
shape, and at least 2x TRL's supervised tokens/s.

Without CUDA or bitsandbytes the script stops and says so, unless ``--tiny --cpu`` is given: then the same
code runs on the CPU, unquantized (bf16 autocast where the CPU has native bf16, else fp32, on both sides),
as a smoke test of the script; its numbers mean nothing, and its memory column is each child's peak RSS
over its whole life (not reset per repeat).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack, closing
from pathlib import Path

from timing import Metric, add_arguments, compare, median, report

GIB = 1024**3
BATCH = 4
LORA = {"r": 16, "alpha": 32, "dropout": 0.05}
LEARNING_RATE = 2e-4
WARMUP_RATIO = 0.05
GOAL_PEAK_GIB = 8.0  # issue 18: train the 8B shape within 8 GiB of GPU memory
GOAL_SPEEDUP = 2.0  # ... at twice TRL's supervised tokens per second
PAD, BOS, EOS, UNK = 0, 1, 2, 3  # the stand-in tokenizer's special ids; random tokens start after them

_LLAMA3 = {"vocab_size": 128256, "rope_theta": 500000.0}
ARCHES: dict[str, dict] = {
    "llama-3.1-8b": {
        **_LLAMA3,
        "hidden_size": 4096,
        "num_hidden_layers": 32,
        "num_attention_heads": 32,
        "num_key_value_heads": 8,
        "intermediate_size": 14336,
        "max_position_embeddings": 131072,
        "tie_word_embeddings": False,
    },
    "llama-3.2-3b": {
        **_LLAMA3,
        "hidden_size": 3072,
        "num_hidden_layers": 28,
        "num_attention_heads": 24,
        "num_key_value_heads": 8,
        "intermediate_size": 8192,
        "max_position_embeddings": 131072,
        "tie_word_embeddings": True,
    },
    "llama-3.2-1b": {
        **_LLAMA3,
        "hidden_size": 2048,
        "num_hidden_layers": 16,
        "num_attention_heads": 32,
        "num_key_value_heads": 8,
        "head_dim": 64,
        "intermediate_size": 8192,
        "max_position_embeddings": 131072,
        "tie_word_embeddings": True,
    },
    # The smoke test's: Llama's layers at toy width, and a vocabulary small enough for a busy 2-core CPU (so
    # doppel's loss takes its single pass here; on the real shapes it goes chunk by chunk).
    "tiny": {
        "vocab_size": 2048,
        "rope_theta": 500000.0,
        "hidden_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "intermediate_size": 256,
        "max_position_embeddings": 2048,
        "tie_word_embeddings": False,
    },
}
SIDES = ("doppel", "TRL SFTTrainer")


# -- the data ---------------------------------------------------------------------------------------------


def examples(args, vocab: int) -> list:
    """The examples both sides train on: random token ids, the prompt share of each labelled -100."""
    from doppel.dataset.tokenize import TokenizedExample

    rng = random.Random(args.seed)
    out = []
    for i in range(args.steps * BATCH):
        n = rng.randint(max(2, args.length // 4), args.length) if args.varied else args.length
        ids = [rng.randrange(UNK + 1, vocab) for _ in range(n)]
        prompt = int(n * args.prompt_share)
        out.append(TokenizedExample(ids, [-100] * prompt + ids[prompt:], truncated=False, key=f"random-{i}"))
    return out


def supervised(chosen) -> int:
    """Tokens the loss is taken on: labels other than -100, the first position excepted (nothing predicts it),
    as both doppel's loss and transformers' shifted loss count them."""
    return sum(sum(1 for label in e.labels[1:] if label != -100) for e in chosen)


# -- the random model -------------------------------------------------------------------------------------


def build(args, folder: Path) -> None:
    """The random-weight model and a stand-in tokenizer, saved in bf16 to ``folder``."""
    import torch
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from transformers import AutoModelForCausalLM, LlamaConfig, PreTrainedTokenizerFast

    from doppel.training.base_models import quiet_transformers

    quiet_transformers()
    shape = dict(ARCHES[args.arch])
    config = LlamaConfig(**shape, pad_token_id=PAD, bos_token_id=BOS, eos_token_id=EOS)
    # On the GPU when it has room (seconds), else on the CPU (a minute or two for 8B parameters).
    params = _count_params(config)
    device = "cpu"
    if not args.cpu and torch.cuda.is_available():
        free, _ = torch.cuda.mem_get_info()
        device = "cuda" if free > 2.5 * params * 2 else "cpu"
    torch.manual_seed(args.seed)
    started = time.perf_counter()
    with torch.device(device):
        model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
    model.save_pretrained(folder, max_shard_size="5GB")
    vocab = {"<pad>": PAD, "<s>": BOS, "</s>": EOS, "<unk>": UNK}
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer(WordLevel(vocab, unk_token="<unk>")),
        pad_token="<pad>",
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
    )
    tokenizer.save_pretrained(folder)
    print(f"built {_size(params)} parameters on {device} in {time.perf_counter() - started:.0f} s", flush=True)


def _size(params: int) -> str:
    return f"{params / 1e9:.2f}B" if params >= 1e9 else f"{params / 1e6:.1f}M"


def _count_params(config) -> int:
    import torch
    from transformers import AutoModelForCausalLM

    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config)
    return sum(p.numel() for p in model.parameters())


# -- the sides (each in a child process) ------------------------------------------------------------------


def _bnb_config(dtype):
    from transformers import BitsAndBytesConfig

    return BitsAndBytesConfig(
        load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True, bnb_4bit_compute_dtype=dtype
    )


def _sync() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def doppel_side(args, folder: Path, chosen):
    """doppel's path on CUDA: placement, load_base, add_lora, fit. Returns (run, facts)."""
    import torch

    from doppel.config import LoraConfig, TrainingConfig
    from doppel.training import fit as fit_module
    from doppel.training import memory
    from doppel.training.base_models import ResolvedBase
    from doppel.training.lora import add_lora, load_base
    from doppel.training.placement import choose_placement

    cfg = TrainingConfig(
        epochs=1,
        batch_size=BATCH,
        max_length=args.length,
        learning_rate=LEARNING_RATE,
        warmup_ratio=WARMUP_RATIO,
        quantization="none" if args.cpu else "nf4",
        precision="auto",  # CUDA: bf16 (or fp16); CPU: bf16 autocast only where the CPU has native bf16
        gradient_checkpointing="on",
        seed=args.seed,
        checkpoint_steps=0,
    )
    placement = choose_placement(cfg)
    base = ResolvedBase(name=f"random {args.arch}", path=str(folder), fingerprint="random", local_only=True)
    torch.manual_seed(args.seed)
    model = add_lora(
        load_base(base, placement),
        LoraConfig(r=LORA["r"], alpha=LORA["alpha"], dropout=LORA["dropout"]),
        quantized=placement.quantization is not None,
        checkpointing=memory.checkpointing(cfg, placement),
    )
    if args.liger:
        if not hasattr(fit_module, "pack_loss"):
            raise SystemExit("--liger: training/fit.py no longer calls pack_loss; update liger_pack_loss's hook")
        fit_module.pack_loss = liger_pack_loss  # what fit() calls for each step's loss
    facts = {
        "placement": placement.description,
        "attention": model.config._attn_implementation,
        "loss": "liger fused linear cross entropy" if args.liger else "doppel's target-only logits (pack_loss)",
    }

    def run() -> dict:
        _sync()
        started = time.perf_counter()
        fit_module.fit(model, chosen, [], cfg, placement, evaluate_initial=False)
        _sync()
        return {"seconds": time.perf_counter() - started, "positions": sum(len(e) for e in chosen)}

    return run, facts


def liger_pack_loss(model, pack):
    """``training.loss.pack_loss`` with liger-kernel's fused linear cross entropy in place of the chunked loss."""
    import torch
    from liger_kernel.transformers import LigerFusedLinearCrossEntropyLoss

    from doppel.training.attention import PACKED

    labels = pack.labels[0]
    targets = torch.nonzero(labels[1:] != -100).squeeze(-1) + 1
    per_example = model.config._attn_implementation == PACKED
    causal_lm = model.get_base_model() if hasattr(model, "get_base_model") else model
    hidden = causal_lm.base_model(
        input_ids=pack.input_ids,
        position_ids=pack.position_ids,
        attention_mask=None if per_example else pack.attention_mask,
        use_cache=False,
    ).last_hidden_state[0]
    head = causal_lm.get_output_embeddings()
    rows = hidden[targets - 1].to(head.weight.dtype)
    loss = LigerFusedLinearCrossEntropyLoss(reduction="sum")(head.weight, rows, labels[targets])
    return loss, int(targets.numel())


def trl_side(args, folder: Path, chosen):
    """TRL's SFTTrainer with the same LoRA, quantisation and checkpointing. Returns (run, facts)."""
    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, TrainerCallback
    from trl import SFTConfig, SFTTrainer

    from doppel.training.placement import cpu_has_native_bf16

    if args.cpu:  # fp32 as doppel's CPU path loads it; bf16 autocast where doppel's would use it
        kwargs: dict = {"dtype": torch.float32}
    else:
        kwargs = {"dtype": torch.bfloat16, "quantization_config": _bnb_config(torch.bfloat16), "device_map": {"": 0}}
    torch.manual_seed(args.seed)
    model = AutoModelForCausalLM.from_pretrained(
        str(folder), local_files_only=True, attn_implementation="sdpa", **kwargs
    )
    data = Dataset.from_dict({"input_ids": [e.input_ids for e in chosen], "labels": [e.labels for e in chosen]})
    config = SFTConfig(
        output_dir=tempfile.mkdtemp(prefix="gpu-train-trl-"),
        per_device_train_batch_size=BATCH,
        num_train_epochs=1,
        learning_rate=LEARNING_RATE,
        warmup_steps=int(WARMUP_RATIO * args.steps),
        lr_scheduler_type="cosine",
        max_grad_norm=1.0,
        max_length=args.length,
        packing=False,
        gradient_checkpointing=True,
        gradient_checkpointing_kwargs={"use_reentrant": False},
        bf16=not args.cpu or cpu_has_native_bf16(),
        use_cpu=args.cpu,
        logging_strategy="no",
        save_strategy="no",
        report_to=[],
        disable_tqdm=True,
        dataloader_num_workers=0,
        seed=args.seed,
    )
    peft_config = LoraConfig(
        r=LORA["r"],
        lora_alpha=LORA["alpha"],
        lora_dropout=LORA["dropout"],
        target_modules="all-linear",
        task_type="CAUSAL_LM",
    )
    clock: dict[str, float] = {}

    class Clock(TrainerCallback):
        def on_train_begin(self, *a, **k):
            _sync()
            clock["start"] = time.perf_counter()

        def on_train_end(self, *a, **k):
            _sync()
            clock["end"] = time.perf_counter()

    trainer = SFTTrainer(model=model, args=config, train_dataset=data, peft_config=peft_config, callbacks=[Clock()])
    positions = sum(int(batch["input_ids"].numel()) for batch in trainer.get_train_dataloader())
    facts = {
        "attention": trainer.model.config._attn_implementation,
        "loss": "TRL's fused LM head (supervised positions, tiled)",
        "trl": importlib.metadata.version("trl"),
    }

    def run() -> dict:
        trainer.train()
        return {"seconds": clock["end"] - clock["start"], "positions": positions}

    return run, facts


def worker(args) -> None:
    """Child process: load one side, say it is ready, then train once per line read from stdin."""
    import torch

    # The protocol goes to the real stdout; anything a library prints goes to stderr (the child's log).
    protocol = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    torch.set_num_threads(os.cpu_count() or 1)

    from doppel.training.base_models import quiet_transformers

    quiet_transformers()
    folder = Path(args.model_dir)
    from transformers import AutoConfig

    vocab = AutoConfig.from_pretrained(str(folder)).vocab_size
    chosen = examples(args, vocab)
    started = time.perf_counter()
    run, facts = (doppel_side if args.worker == "doppel" else trl_side)(args, folder, chosen)
    cuda = torch.cuda.is_available()
    facts.update(load_seconds=time.perf_counter() - started, device=torch.cuda.get_device_name(0) if cuda else "cpu")
    protocol.write(json.dumps({"ready": facts}) + "\n")
    for line in sys.stdin:
        if json.loads(line).get("op") != "run":
            break
        if cuda:
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
        got = run()
        if cuda:
            got["peak_gib"] = torch.cuda.max_memory_allocated() / GIB
            got["reserved_gib"] = torch.cuda.max_memory_reserved() / GIB
            torch.cuda.empty_cache()  # idle until its next turn: leave the card to the other side
        else:
            got["peak_gib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
        protocol.write(json.dumps(got) + "\n")


class Child:
    """One side in its own process: started, asked to train, and told to stop."""

    def __init__(self, side: str, args, folder: Path, logs: Path):
        self.side = side
        self.log_path = logs / f"{side.split()[0].lower()}-{time.monotonic_ns()}.log"
        command = [sys.executable, __file__, "--worker", "doppel" if side == "doppel" else "trl"]
        command += ["--model-dir", str(folder), *_shared_flags(args)]
        env = dict(os.environ, CUDA_VISIBLE_DEVICES="") if args.cpu else None
        self.log = open(self.log_path, "w")  # noqa: SIM115 (closed in close())
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, text=True, env=env
        )
        self.facts: dict | None = None

    def _read(self) -> dict:
        line = self.process.stdout.readline()
        if not line:
            self.process.wait()
            tail = self.log_path.read_text()[-3000:]
            raise SystemExit(f"the {self.side} child stopped (exit {self.process.returncode}); its log ends:\n{tail}")
        return json.loads(line)

    def ready(self) -> dict:
        if self.facts is None:
            self.facts = self._read()["ready"]
        return self.facts

    def run(self) -> dict:
        self.ready()
        self.process.stdin.write(json.dumps({"op": "run"}) + "\n")
        self.process.stdin.flush()
        return self._read()

    def close(self) -> None:
        if self.process.poll() is None:
            try:
                self.process.stdin.write(json.dumps({"op": "quit"}) + "\n")
                self.process.stdin.close()
            except BrokenPipeError:
                pass
            try:
                self.process.wait(timeout=120)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def _shared_flags(args) -> list[str]:
    flags = ["--arch", args.arch, "--steps", str(args.steps), "--length", str(args.length)]
    flags += ["--prompt-share", str(args.prompt_share), "--seed", str(args.seed)]
    flags += [f for f, on in (("--varied", args.varied), ("--cpu", args.cpu), ("--liger", args.liger)) if on]
    return flags


# -- the parent -------------------------------------------------------------------------------------------


def preflight(args) -> None:
    """Stop with the reason when this machine cannot run what was asked."""
    if args.cpu and not args.tiny:
        raise SystemExit("--cpu runs only the --tiny smoke test: the real shapes need a CUDA GPU")
    if not args.cpu:
        import torch

        if not torch.cuda.is_available():
            raise SystemExit(
                "no CUDA GPU here: this benchmark measures QLoRA training on a GPU. For a smoke test of the "
                "script on a CPU, run it with --tiny --cpu."
            )
        if importlib.util.find_spec("bitsandbytes") is None:
            raise SystemExit("bitsandbytes is not installed (pip install -e '.[gpu]'): both sides load the base in NF4")
    missing = [m for m in ("trl", "datasets") if importlib.util.find_spec(m) is None]
    if missing:
        raise SystemExit(f"the TRL baseline needs {', '.join(missing)}: pip install -e '.[bench]'")
    if args.liger and importlib.util.find_spec("liger_kernel") is None:
        raise SystemExit("--liger needs liger-kernel (pip install liger-kernel); it is not installed here")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arch", choices=list(ARCHES), default="llama-3.1-8b", help="The shape (tiny: as --tiny)")
    parser.add_argument("--tiny", action="store_true", help="A 2-layer, hidden-64 Llama (quick check)")
    parser.add_argument("--cpu", action="store_true", help="With --tiny: run on the CPU, unquantized")
    parser.add_argument("--steps", type=int, default=8, help="Optimizer steps (of 4 examples) per timed repeat")
    parser.add_argument("--length", type=int, default=512, help="Tokens per example (the longest with --varied)")
    parser.add_argument("--varied", action="store_true", help="Lengths drawn between --length/4 and --length")
    parser.add_argument("--prompt-share", type=float, default=0.5, help="Share of each example that is prompt")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--liger", action="store_true", help="doppel's loss through liger-kernel (if installed)")
    parser.add_argument("--one-at-a-time", action="store_true", help="A fresh child per side per repeat")
    parser.add_argument("--model-dir", type=Path, default=None, help="Where the random model is (kept) or built")
    parser.add_argument("--build", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--worker", choices=["doppel", "trl"], default=None, help=argparse.SUPPRESS)
    add_arguments(parser)
    args = parser.parse_args()
    if args.tiny:
        args.arch = "tiny"
    if not 0.0 <= args.prompt_share < 1.0:
        raise SystemExit("--prompt-share must be in [0, 1)")
    if args.build:
        build(args, Path(args.build))
    elif args.worker:
        worker(args)
    else:
        preflight(args)
        compare_sides(args)


def compare_sides(args) -> None:
    from transformers import AutoConfig

    from doppel.training import memory

    with ExitStack() as stack:
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="gpu-train-")))
        folder = args.model_dir or scratch / "model"
        if not (folder / "config.json").is_file():
            print(f"building a random {args.arch} in {folder} ...", flush=True)
            if args.cpu:
                build(args, folder)  # no GPU to keep this process off
            else:
                # In a child, so this process never holds a CUDA context while the sides are measured.
                command = [sys.executable, __file__, "--build", str(folder), *_shared_flags(args)]
                if subprocess.run(command, check=False).returncode != 0:
                    shutil.rmtree(folder, ignore_errors=True)
                    raise SystemExit("building the model failed (see above)")
        config = AutoConfig.from_pretrained(str(folder))
        chosen = examples(args, config.vocab_size)
        n_supervised = supervised(chosen)
        tokens = BATCH * args.length
        estimate = memory.estimate(config, tokens=tokens, lora_r=LORA["r"], quantized=not args.cpu, checkpointing=True)
        print(
            f"{args.arch}: {_size(_count_params(config))} parameters; "
            f"{args.steps} steps x {BATCH} examples per repeat "
            f"({sum(len(e) for e in chosen)} tokens, {n_supervised} supervised); "
            f"{'CPU, unquantized (smoke test)' if args.cpu else 'NF4 double-quantised, bf16 compute'}",
            flush=True,
        )

        children: dict[str, Child] = {}
        if not args.one_at_a_time:
            for side in SIDES:  # started together: the two loads overlap
                children[side] = stack.enter_context(closing(Child(side, args, folder, scratch)))
            for child in children.values():
                child.ready()

        def side_runner(side: str):
            def run(i: int) -> dict:
                if not args.one_at_a_time:
                    return children[side].run()
                with closing(Child(side, args, folder, scratch)) as child:
                    for _ in range(args.warmup):
                        child.run()
                    children[side] = child
                    return child.run()

            return run

        # With --one-at-a-time each timed repeat's child warms up first, so compare()'s own warm-ups are off.
        samples = compare(
            [(side, side_runner(side)) for side in SIDES],
            args.repeats,
            warmup=0 if args.one_at_a_time else args.warmup,
        )
        for side in SIDES:
            facts = children[side].facts or {}
            print(f"{side}: {', '.join(f'{k} {v}' for k, v in facts.items() if k != 'load_seconds')}")
            if "load_seconds" in facts:
                print(f"  (loaded in {facts['load_seconds']:.0f} s)")
    for side in samples.values():
        side["supervised_per_s"] = [n_supervised / s for s in side["seconds"]]
        side["positions_per_s"] = [p / s for p, s in zip(side["positions"], side["seconds"])]
    peak_label = "peak RSS of the child process (not reset per repeat)" if args.cpu else "peak GPU memory allocated"
    report(
        samples,
        [
            Metric("supervised_per_s", "supervised tokens per second", "tokens/s", higher_is_better=True),
            Metric("positions_per_s", "positions per second (padding included)", "positions/s", True),
            Metric("seconds", f"wall time of {args.steps} steps"),
            Metric("peak_gib", peak_label, "GiB"),
        ]
        + ([] if args.cpu else [Metric("reserved_gib", "peak GPU memory reserved by the allocator", "GiB")]),
        baseline="TRL SFTTrainer",
    )

    ours, theirs = median(samples, "doppel", "supervised_per_s"), median(samples, "TRL SFTTrainer", "supervised_per_s")
    ratio = ours / theirs
    peak = max(samples["doppel"]["peak_gib"])
    print(f"\ndoppel / TRL, supervised tokens/s (medians): {ratio:.2f}x")
    print(
        f"doppel's memory estimate (training/memory.py) for {tokens} tokens a step: {estimate.total / GIB:.1f} GiB "
        f"({estimate.describe()}); measured peak {peak:.1f} GiB"
        + (" (RSS on the CPU: not comparable)" if args.cpu else "")
    )
    if args.cpu:
        print("goals (issue 18): not judged on the CPU smoke test")
        return
    peak_goal = "met" if peak <= GOAL_PEAK_GIB else "NOT met"
    shape = "" if args.arch == "llama-3.1-8b" else f" (the goal is for the 8B shape; this is {args.arch})"
    print(f"goal: peak GPU memory <= {GOAL_PEAK_GIB:g} GiB training the 8B shape: {peak:.1f} GiB, {peak_goal}{shape}")
    speed_goal = "met" if ratio >= GOAL_SPEEDUP else "NOT met"
    print(f"goal: >= {GOAL_SPEEDUP:g}x TRL's supervised tokens/s: {ratio:.2f}x, {speed_goal}")


if __name__ == "__main__":
    main()
