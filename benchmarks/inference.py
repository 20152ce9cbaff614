"""Chat and decide speed of the demo twin on each local backend, against plain transformers.generate.

    make demo                      # once: trains the demo twin (final) in $DOPPEL_HOME
    python benchmarks/inference.py [--tokens 64] [--repeats 3]

Baseline (named): the base model with the version's adapter in transformers,
``model.generate`` greedy, no streaming, no doppel code around it; for decide,
the baseline is that same model scoring each option with its own forward pass.
Measured: doppel's transformers and llama.cpp backends through ``Twin`` (chat
streamed, so first-token latency is real; decide scoring all options in one
batched pass). Prints medians and ratios against the baseline.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from doppel.config import load_settings
from doppel.registry import Registry
from doppel.twin import Twin

PROMPTS = [
    "Should we close this deal?",
    "Write an email to Dana about the TestPilot CPG renewal.",
    "The client wants to move the kickoff to next month. Thoughts?",
]
OPTIONS_10 = ["Accept", "Counter-offer", "Decline", "Escalate to the VP", "Ask for more time", "Offer a pilot",
              "Bundle services", "Walk away", "Loop in legal", "Request a call"]


def median(xs):
    return statistics.median(xs)


def baseline(twin: Twin, tokens: int, repeats: int) -> dict:
    """Plain transformers: the same model object, ``generate`` and per-option forward passes."""
    local = twin.backend.local
    model, tok = local.model, local.tokenizer
    first, rates = [], []
    for prompt in PROMPTS:
        text = twin.prompter.render(twin.messages_for(prompt))
        ids = tok(text, add_special_tokens=False, return_tensors="pt")["input_ids"]
        for _ in range(repeats):
            with torch.no_grad():
                t0 = time.perf_counter()
                model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=1, do_sample=False,
                               pad_token_id=tok.pad_token_id)
                first.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=tokens,
                                     min_new_tokens=tokens, do_sample=False, pad_token_id=tok.pad_token_id)
                rates.append((out.shape[1] - ids.shape[1]) / (time.perf_counter() - t0))
    decide = {}
    for n, options in ((3, OPTIONS_10[:3]), (10, OPTIONS_10)):
        from doppel.inference.decisions import decision_messages

        prompt = twin.prompter.render(decision_messages(twin.config.persona, "New client wants 30% discount", options))
        p_ids = tok(prompt, add_special_tokens=False)["input_ids"]
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            with torch.no_grad():
                for option in options:  # one forward pass per option
                    a_ids = tok(twin.prompter.answer_text(option), add_special_tokens=False)["input_ids"]
                    model(input_ids=torch.tensor([p_ids + a_ids]))
            times.append(time.perf_counter() - t0)
        decide[n] = median(times)
    return {"first_token_s": median(first), "tokens_per_s": median(rates), "decide_s": decide}


def measure(twin: Twin, tokens: int, repeats: int) -> dict:
    first, rates = [], []
    for prompt in PROMPTS:
        for _ in range(repeats):
            t0 = time.perf_counter()
            t_first, final = None, None
            for item in twin.stream(prompt, max_tokens=tokens):
                if t_first is None:
                    t_first = time.perf_counter() - t0
                if not isinstance(item, str):
                    final = item
            total = time.perf_counter() - t0
            first.append(t_first)
            rates.append(final.completion_tokens / total)
    decide = {}
    for n in (3, 10):
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            twin.decide("New client wants 30% discount", OPTIONS_10[:n], rationale=False)
            times.append(time.perf_counter() - t0)
        decide[n] = median(times)
    return {"first_token_s": median(first), "tokens_per_s": median(rates), "decide_s": decide}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=64, help="Reply length measured")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--twin", default=None)
    args = parser.parse_args()
    settings = load_settings()
    twin_name = settings.twin(args.twin).name
    if Registry(settings.resolved_models_dir).final(twin_name) is None:
        raise SystemExit(f"no final version of {twin_name} in {settings.resolved_models_dir}: run `make demo` first")
    print(f"torch threads {torch.get_num_threads()}, {args.tokens} tokens per reply, {args.repeats} repeats")

    results = {}
    with Twin.load(twin_name, config=settings, backend="transformers") as hf:
        results["baseline transformers.generate"] = baseline(hf, args.tokens, args.repeats)
        results["doppel transformers"] = measure(hf, args.tokens, args.repeats)
    try:
        with Twin.load(twin_name, config=settings, backend="llamacpp") as cpp:
            results["doppel llama.cpp"] = measure(cpp, args.tokens, args.repeats)
    except Exception as exc:  # noqa: BLE001 - report, keep the other numbers
        print(f"llama.cpp backend unavailable: {exc}")

    base = results["baseline transformers.generate"]
    print(f"\n{'':34} {'first token':>12} {'tokens/s':>9} {'decide 3':>9} {'decide 10':>10}")
    for name, r in results.items():
        print(f"{name:34} {r['first_token_s'] * 1000:9.0f} ms {r['tokens_per_s']:9.1f} "
              f"{r['decide_s'][3]:8.2f}s {r['decide_s'][10]:9.2f}s")
    print("\nratios against the baseline (higher is better)")
    for name, r in results.items():
        if name.startswith("baseline"):
            continue
        print(f"{name:34} first token {base['first_token_s'] / r['first_token_s']:5.2f}x  "
              f"tokens/s {r['tokens_per_s'] / base['tokens_per_s']:5.2f}x  "
              f"decide-3 {base['decide_s'][3] / r['decide_s'][3]:5.2f}x  "
              f"decide-10 {base['decide_s'][10] / r['decide_s'][10]:5.2f}x")


if __name__ == "__main__":

    main()
