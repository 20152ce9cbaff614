"""Chat and decide speed of the demo twin on each local backend, against plain transformers.generate.

    make demo                      # once: trains the demo twin (final) in $DOPPEL_HOME
    python benchmarks/inference.py [--tokens 64] [--repeats 5]
    python benchmarks/inference.py --tokens 8 --repeats 2       # quick check that it runs

Baseline (named): the base model with the version's adapter in transformers,
``model.generate`` greedy, no streaming, no doppel code around it; for decide,
the baseline is that same model scoring each option with its own forward pass
(per question: under ``pmi`` scoring also after the question without the
situation, as ``Twin.decide`` does).
Measured: doppel's transformers and llama.cpp backends through ``Twin`` (chat
streamed, so first-token latency is real; decide scoring all options in one
batched pass).

No timing reuses a cached prompt: repeat ``i`` asks every side prompt ``i``
of a pool of distinct prompts (situation ``i`` for decide; warm-ups ask
prompts no timed repeat uses), and llama.cpp's context is reset before every
timed call, so its KV cache cannot serve the persona's system prompt from the
previous call. The transformers sides build a fresh cache inside every
``generate`` and keep nothing between calls, so all three start each call
equally cold. Both backends are loaded before any timing, and the order of
the sides rotates every repeat (benchmarks/timing.py).
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import subprocess
import sys
import time

import torch
from timing import Metric, add_arguments, compare, report

from doppel.config import load_settings
from doppel.inference.decisions import decision_messages
from doppel.registry import Registry
from doppel.twin import Twin

# Distinct questions of similar length: one per timed repeat, so none is asked twice.
CHAT_PROMPTS = [
    "Should we close this deal?",
    "Write an email to Dana about the TestPilot CPG renewal.",
    "The client wants to move the kickoff to next month. Thoughts?",
    "How do I answer a prospect who says our price is too high?",
    "Draft a short note thanking Priya for the referral.",
    "Our biggest account went quiet for three weeks. What now?",
    "What should I say in tomorrow's pipeline review?",
    "A competitor offered them a free pilot. How do we respond?",
    "Summarise where we stand with the Northwind expansion.",
    "Can you reply to Marco, who asked for the contract by Friday?",
    "The new rep keeps missing follow-ups. How do I coach him?",
    "Is it worth flying to Chicago for this one meeting?",
]
CHAT_WARMUP = "Give me a one-line update for the team channel."

SITUATIONS = [
    "New client wants 30% discount",
    "A renewal is due next week and the champion just left the company",
    "The prospect asks for net-90 payment terms on a first order",
    "Legal wants two more weeks to review the master agreement",
    "A partner offers to co-sell if we share a quarter of the margin",
    "The customer reports a bug the day before go-live",
    "Procurement insists on three competing quotes before signing",
    "Our top rep wants to move the deal to next quarter",
    "The client asks for a dedicated account manager at no extra cost",
    "A long-time customer threatens to churn over a price increase",
    "The VP wants a case study before approving the budget",
    "Two teams at the same company ask for separate contracts",
]
DECIDE_WARMUP = "The client asks whether we can start a week early"
OPTIONS_10 = [
    "Accept",
    "Counter-offer",
    "Decline",
    "Escalate to the VP",
    "Ask for more time",
    "Offer a pilot",
    "Bundle services",
    "Walk away",
    "Loop in legal",
    "Request a call",
]
DECIDE_SIZES = (3, 10)


def pick(pool: list[str], warmup: str, i: int) -> str:
    return warmup if i < 0 else pool[i]


def baseline_chat(twin: Twin, tokens: int):
    """Plain transformers: the same model object, ``generate`` for one token, then for the whole reply."""
    local = twin.backend.local
    model, tok = local.model, local.tokenizer

    def run(i: int) -> dict[str, float]:
        text = twin.prompter.render(twin.messages_for(pick(CHAT_PROMPTS, CHAT_WARMUP, i)))
        ids = tok(text, add_special_tokens=False, return_tensors="pt")["input_ids"]
        with torch.no_grad():
            t0 = time.perf_counter()
            model.generate(
                input_ids=ids,
                attention_mask=torch.ones_like(ids),
                max_new_tokens=1,
                do_sample=False,
                pad_token_id=tok.pad_token_id,
            )
            first = time.perf_counter() - t0
            t0 = time.perf_counter()
            out = model.generate(
                input_ids=ids,
                attention_mask=torch.ones_like(ids),
                max_new_tokens=tokens,
                min_new_tokens=tokens,
                do_sample=False,
                pad_token_id=tok.pad_token_id,
            )
            seconds = time.perf_counter() - t0
        made = out.shape[1] - ids.shape[1]
        return {"first_token_s": first, "tokens_per_s": made / seconds, "tokens": made}

    return run


def decision_scoring(twin: Twin) -> str:
    return getattr(twin.config.inference, "decision_scoring", "mean")


def baseline_decide(twin: Twin):
    """The same model, one forward pass per option and question (prompt + option each time).

    Under ``pmi`` scoring ``Twin.decide`` also scores every option after the question without the situation,
    with the adapter off (``pmi_self``: with it on), so the baseline asks that question too: both sides compute
    the same numbers.
    """
    local = twin.backend.local
    model, tok = local.model, local.tokenizer
    persona = twin.config.persona

    def questions(situation: str, options: list[str]) -> list[tuple[list[dict], bool]]:
        asked = [(decision_messages(persona, situation, options), False)]
        scoring = decision_scoring(twin)
        if scoring in ("pmi", "pmi_self"):
            from doppel.inference.decisions import neutral_messages

            asked.append((neutral_messages(persona, options), scoring == "pmi"))
        return asked

    def run(i: int) -> dict[str, float]:
        situation = pick(SITUATIONS, DECIDE_WARMUP, i)
        result = {}
        for n in DECIDE_SIZES:
            options = OPTIONS_10[:n]
            t0 = time.perf_counter()  # rendering counts, as it does inside Twin.decide
            for messages, base_only in questions(situation, options):
                p_ids = tok(twin.prompter.render(messages), add_special_tokens=False)["input_ids"]
                with torch.no_grad(), local.base_model_only() if base_only else contextlib.nullcontext():
                    for option in options:
                        a_ids = tok(twin.prompter.answer_text(option), add_special_tokens=False)["input_ids"]
                        model(input_ids=torch.tensor([p_ids + a_ids]))
            result[f"decide_{n}_s"] = time.perf_counter() - t0
        return result

    return run


def fresh(twin: Twin) -> None:
    """Forget everything kept between calls: llama.cpp's KV caches (it reuses their prefix) and decide's
    reference scores per option list."""
    twin.forget()


def doppel_chat(twin: Twin, tokens: int):
    def run(i: int) -> dict[str, float]:
        prompt = pick(CHAT_PROMPTS, CHAT_WARMUP, i)
        fresh(twin)
        t0 = time.perf_counter()
        first, final = None, None
        for item in twin.stream(prompt, max_tokens=tokens):
            if first is None:
                first = time.perf_counter() - t0
            if not isinstance(item, str):
                final = item
        total = time.perf_counter() - t0
        return {
            "first_token_s": first,
            "tokens_per_s": final.completion_tokens / total,
            "tokens": final.completion_tokens,
        }

    return run


def doppel_decide(twin: Twin):
    def run(i: int) -> dict[str, float]:
        situation = pick(SITUATIONS, DECIDE_WARMUP, i)
        result = {}
        for n in DECIDE_SIZES:
            fresh(twin)  # decide-10 would otherwise reuse the situation decide-3 just cached
            t0 = time.perf_counter()
            twin.decide(situation, OPTIONS_10[:n], rationale=False)
            result[f"decide_{n}_s"] = time.perf_counter() - t0
        return result

    return run


def llamacpp_crash(twin_name: str) -> str | None:
    """Why llama.cpp cannot be measured here, if it dies with a signal (no exception to catch) on this CPU.

    Tried in a child process first, so a crash costs the llama.cpp numbers, not the whole run.
    """
    code = (
        f"from doppel.twin import Twin\nwith Twin.load({twin_name!r}, backend='llamacpp') as t:\n"
        "    t.chat('Hello', max_tokens=2)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if done.returncode < 0:
        return f"a test reply killed the process with signal {-done.returncode}"
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=64, help="Reply length measured")
    parser.add_argument("--twin", default=None)
    parser.add_argument("--no-decide", action="store_true", help="Chat only")
    add_arguments(parser)
    args = parser.parse_args()
    if args.repeats > min(len(CHAT_PROMPTS), len(SITUATIONS)):
        raise SystemExit(
            f"at most {min(len(CHAT_PROMPTS), len(SITUATIONS))} repeats: every repeat needs a prompt "
            "of its own (add more to CHAT_PROMPTS and SITUATIONS)"
        )
    settings = load_settings()
    twin_name = settings.twin(args.twin).name
    if Registry(settings.resolved_models_dir).final(twin_name) is None:
        raise SystemExit(f"no final version of {twin_name} in {settings.resolved_models_dir}: run `make demo` first")
    print(f"torch threads {torch.get_num_threads()}, {args.tokens} tokens per reply", flush=True)

    hf = Twin.load(twin_name, config=settings, backend="transformers")
    twins = {"doppel transformers": hf}
    crash = llamacpp_crash(twin_name)
    try:
        if crash:
            raise RuntimeError(crash)
        twins["doppel llama.cpp"] = Twin.load(twin_name, config=settings, backend="llamacpp")
    except Exception as exc:  # noqa: BLE001 - report, keep the other numbers
        print(f"llama.cpp backend unavailable: {exc}")
    baseline = "baseline transformers.generate"
    try:
        chat = compare(
            [(baseline, baseline_chat(hf, args.tokens))]
            + [(name, doppel_chat(t, args.tokens)) for name, t in twins.items()],
            args.repeats,
            warmup=args.warmup,
        )
        report(
            chat,
            [
                Metric("first_token_s", "time to first token", "ms", scale=1000),
                Metric("tokens_per_s", f"reply speed, {args.tokens} tokens at most", "tokens/s", higher_is_better=True),
            ],
            title="chat",
        )
        # The baseline always makes --tokens tokens; a backend that meets end of turn earlier makes fewer,
        # so its first token's cost weighs more in its tokens/s (it is not flattered).
        print(
            "reply length (tokens, median): "
            + ", ".join(f"{name} {statistics.median(s['tokens']):.0f}" for name, s in chat.items())
        )
        if not args.no_decide:
            decide = compare(
                [(baseline + " (one pass per option)", baseline_decide(hf))]
                + [(name, doppel_decide(t)) for name, t in twins.items()],
                args.repeats,
                warmup=args.warmup,
            )
            report(
                decide,
                [Metric(f"decide_{n}_s", f"decide among {n} options") for n in DECIDE_SIZES],
                title=f"decide (no rationale, {decision_scoring(hf)} scoring)",
            )
    finally:
        for t in twins.values():
            t.close()


if __name__ == "__main__":
    main()
