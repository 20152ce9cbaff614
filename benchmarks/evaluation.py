"""Scorecard reply generation: batched (doppel's evaluation) against one prompt at a time.

    make demo                       # once: trains the demo twin (final) in $DOPPEL_HOME
    python benchmarks/evaluation.py [--prompts 16] [--tokens 64] [--batch 8]

Baseline (named): ``LocalTwin.generate`` on each held-out prompt in turn, the
way a script asking the twin one question after another would (greedy, same
anti-looping settings). Measured: ``evaluation.replies.generate_replies`` on
the same prompts, left-padded batches of similar length. Prints wall time,
useful tokens per second and the ratio; also how many replies are identical
(batching must not change what the twin says, beyond float noise).
"""

from __future__ import annotations

import argparse
import time

import torch

from doppel.config import load_settings
from doppel.dataset.examples import build_examples
from doppel.db import Database
from doppel.evaluation.replies import generate_replies
from doppel.evaluation.scorecard import _style_prompts
from doppel.inference.backends.common import twin_prompter
from doppel.inference.local import LocalTwin
from doppel.pipeline import collect_records
from doppel.registry import Registry
from doppel.training.base_models import resolve_base_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prompts", type=int, default=16)
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--batch", type=int, default=8)
    args = parser.parse_args()

    settings = load_settings()
    twin = settings.twin()
    version = Registry(settings.resolved_models_dir).get(twin.name)
    local = LocalTwin.from_version(resolve_base_model(twin.base_model, settings.home), version)
    prompter = twin_prompter(settings, twin, version, local.tokenizer)
    built = build_examples(collect_records(Database(settings), twin), twin.persona)
    chosen = _style_prompts(built, prompter, 384, args.prompts)
    conversations = [e.prompt_messages for e in chosen]
    torch.set_num_threads(torch.get_num_threads())

    started = time.perf_counter()
    one_by_one = [local.generate(c, max_new_tokens=args.tokens) for c in conversations]
    base_seconds = time.perf_counter() - started
    base_tokens = sum(g.completion_tokens for g in one_by_one)

    batched = generate_replies(local.model, prompter, conversations, max_new_tokens=args.tokens,
                               batch_size=args.batch)
    same = sum(a.text == b for a, b in zip(one_by_one, batched.texts))
    print(f"{len(conversations)} held-out prompts of {twin.name} {version.name}, up to {args.tokens} tokens each")
    print(f"baseline one at a time : {base_seconds:7.1f} s  {base_tokens / base_seconds:6.1f} tok/s")
    print(f"batched (batch {args.batch:>2})     : {batched.seconds:7.1f} s  {batched.tokens_per_second:6.1f} tok/s"
          f"  ({base_seconds / batched.seconds:.2f}x faster)")
    print(f"identical replies: {same}/{len(conversations)}")


if __name__ == "__main__":
    main()
