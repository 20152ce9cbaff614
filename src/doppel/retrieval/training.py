"""Training with retrieval in the prompt: each example shows the twin its nearest other training records.

A twin trained without them meets "things you wrote before" for the first time when it answers, and a small
model can be thrown by it (on one real person, retrieval at answer time alone lowered the share of replies
read as her). Trained with them, it learns what they are for. The rules that keep the numbers honest: only
training-split rows are ever retrieved (a validation record never reaches a training prompt), never the
example's own record, and the records fit in the example's token budget beside the whole target.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from doppel.config import RetrievalConfig
from doppel.dataset.examples import Example
from doppel.db import Database
from doppel.retrieval.prompt import memory_block, with_memories
from doppel.retrieval.store import RecordIndex

# Room left for the chat template's own tokens around the block.
MARGIN_TOKENS = 8


def with_neighbours(
    examples: Sequence[Example],
    db: Database,
    twin: str,
    cfg: RetrievalConfig,
    *,
    count_messages: Callable[[list[dict]], int],
    count_text: Callable[[str], int],
    max_length: int,
    embedder=None,
) -> tuple[list[Example], dict]:
    """The examples with their nearest training records added to the system message, and counts for the card."""
    if not examples:
        return [], {"examples": 0, "with_records": 0, "records": 0}
    if embedder is None:
        from doppel.retrieval.search import shared_embedder

        embedder = shared_embedder()
    index = RecordIndex(db)
    questions = [e.prompt_messages[-1]["content"] if len(e.messages) > 1 else e.target for e in examples]
    vectors = embedder.encode(questions)
    out: list[Example] = []
    with_records = records = 0
    for example, vector, question in zip(examples, vectors, questions, strict=True):
        hits = index.nearest(
            twin, vector, question, k=cfg.k, splits=("train",), exclude=[example.key], hybrid=cfg.hybrid
        )
        hits = [h for h in hits if h.score >= cfg.min_similarity]
        room = max_length - count_messages(list(example.messages)) - MARGIN_TOKENS
        block, kept = memory_block(hits, count_text, min(cfg.max_tokens, room), cfg.excerpt_chars)
        if kept:
            prompt = with_memories(example.prompt_messages, block)
            example = replace(example, messages=(*prompt, example.messages[-1]))
            with_records += 1
            records += len(kept)
        out.append(example)
    return out, {"examples": len(out), "with_records": with_records, "records": records}
