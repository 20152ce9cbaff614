"""Retrieved records in the prompt: "things you wrote before", within a token budget.

They go at the end of the system message, most similar first, so the chat
template and the history-fitting logic see an ordinary conversation: history
turns are still the first to go when the context is short, then the least
similar records (the budget is taken before fitting).
"""

from __future__ import annotations

from collections.abc import Sequence

from doppel.retrieval.store import Hit

HEADER = "Things you wrote before, the most relevant first (use what applies; do not copy them):"


def _clip(text: str, chars: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= chars else text[: chars - 1].rstrip() + "…"


def render_hit(hit: Hit, excerpt_chars: int) -> str:
    when = hit.written_at.date().isoformat() if hit.written_at else "undated"
    lines = [f"[{hit.source}, {when}]"]
    if hit.prompt.strip():
        lines.append(f"Asked: {_clip(hit.prompt, excerpt_chars // 2)}")
    lines.append(f"You wrote: {_clip(hit.body, excerpt_chars)}")
    return "\n".join(lines)


def memory_block(hits: Sequence[Hit], count_tokens, budget: int, excerpt_chars: int) -> tuple[str, list[Hit]]:
    """The block and the hits it holds: as many, most similar first, as fit ``budget`` tokens."""
    kept: list[Hit] = []
    parts: list[str] = []
    for hit in hits:
        candidate = "\n\n".join([HEADER, *parts, render_hit(hit, excerpt_chars)])
        if count_tokens(candidate) > budget:
            break
        kept.append(hit)
        parts.append(render_hit(hit, excerpt_chars))
    if not kept:
        return "", []
    return "\n\n".join([HEADER, *parts]), kept


def with_memories(messages: list[dict[str, str]], block: str) -> list[dict[str, str]]:
    """The same turns with the block appended to the system message (one added when there is none)."""
    if not block:
        return messages
    out = [dict(m) for m in messages]
    if out and out[0]["role"] == "system":
        out[0]["content"] = f"{out[0]['content']}\n\n{block}"
    else:
        out.insert(0, {"role": "system", "content": block})
    return out
