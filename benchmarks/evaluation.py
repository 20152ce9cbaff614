"""Scorecard reply generation: batched (doppel's evaluation) against one prompt at a time.

    make demo                       # once: trains the demo twin (final) in $DOPPEL_HOME
    python benchmarks/evaluation.py [--prompts 16] [--tokens 64] [--batch 8] [--repeats 5]
    python benchmarks/evaluation.py --prompts 4 --tokens 8 --batch 2 --repeats 2   # quick check that it runs

Baseline (named): ``LocalTwin.generate`` on each held-out prompt in turn, the
way a script asking the twin one question after another would (greedy, same
anti-looping settings). Measured: ``evaluation.replies.generate_replies`` on
the same prompts, left-padded batches of similar length. Prints wall time and
useful tokens per second (min/median/max over the repeats, order alternating:
benchmarks/timing.py); also how many replies are identical (batching must not
change what the twin says, beyond float noise).

Every timed repeat answers the same prompts: both sides run on one model
object and ``generate`` keeps no cache between calls, so a repeat reuses
nothing from the one before, and equal work makes the repeats comparable.
Warm-ups answer two other held-out prompts.
"""

from __future__ import annotations

import argparse
import time

import torch
from timing import Metric, add_arguments, compare, median, report

from doppel.config import load_settings
from doppel.dataset.examples import build_examples
from doppel.db import Database
from doppel.evaluation.parts.style import style_prompts
from doppel.evaluation.replies import generate_replies
from doppel.inference.backends.common import twin_prompter
from doppel.inference.local import LocalTwin
from doppel.pipeline import collect_records
from doppel.registry import Registry
from doppel.training.base_models import resolve_base_model

WARMUP_PROMPTS = 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prompts", type=int, default=16)
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--batch", type=int, default=8)
    add_arguments(parser)
    args = parser.parse_args()

    settings = load_settings()
    twin = settings.twin()
    version = Registry(settings.resolved_models_dir).get(twin.name)
    local = LocalTwin.from_version(resolve_base_model(twin.base_model, settings.home), version)
    prompter = twin_prompter(settings, twin, version, local.tokenizer)
    built = build_examples(collect_records(Database(settings), twin), twin.persona)
    chosen = style_prompts(built, prompter, 384, args.prompts + WARMUP_PROMPTS)
    conversations = [e.prompt_messages for e in chosen[: args.prompts]]
    warm = [e.prompt_messages for e in chosen[args.prompts :]]
    if len(conversations) < args.prompts or not warm:
        raise SystemExit(f"only {len(chosen)} held-out prompts fit: ask for fewer (--prompts)")

    replies = {}  # each side's latest replies, to compare them

    def one_by_one(i: int) -> dict[str, float]:
        asked = warm if i < 0 else conversations
        out = [local.generate(c, max_new_tokens=args.tokens) for c in asked]
        replies["one"] = [g.text for g in out]
        return {"tokens": sum(g.completion_tokens for g in out)}

    def batched(i: int) -> dict[str, float]:
        asked = warm if i < 0 else conversations
        out = generate_replies(local.model, prompter, asked, max_new_tokens=args.tokens, batch_size=args.batch)
        replies["batched"] = out.texts
        return {"tokens": out.new_tokens}

    def timed_tokens(run):
        def side(i: int) -> dict[str, float]:
            start = time.perf_counter()
            result = run(i)
            seconds = time.perf_counter() - start
            return {"seconds": seconds, "tokens_per_s": result["tokens"] / seconds}

        return side

    base_name, ours_name = "baseline: one prompt at a time", f"doppel: batched (batch {args.batch})"
    samples = compare(
        [(base_name, timed_tokens(one_by_one)), (ours_name, timed_tokens(batched))], args.repeats, warmup=args.warmup
    )

    print(
        f"\n{len(conversations)} held-out prompts of {twin.name} {version.name}, up to {args.tokens} tokens each, "
        f"torch threads {torch.get_num_threads()}"
    )
    report(
        samples,
        [
            Metric("seconds", f"wall time for {len(conversations)} replies"),
            Metric("tokens_per_s", "useful tokens per second", "tokens/s", higher_is_better=True),
        ],
    )
    print(
        f"batched is {median(samples, base_name, 'seconds') / median(samples, ours_name, 'seconds'):.2f}x faster "
        "(medians)"
    )
    same = sum(a == b for a, b in zip(replies["one"], replies["batched"]))
    print(f"identical replies: {same}/{len(conversations)}")


if __name__ == "__main__":
    main()
