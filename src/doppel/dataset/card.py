"""The data-set card: what went in, what was dropped and why, how long the examples are."""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from doppel.dataset.duplicates import NEAR_JACCARD, leak_check
from doppel.dataset.examples import BuildResult
from doppel.dataset.tokenize import TokenizedExample


def _summary(values: Sequence[int]) -> dict[str, float]:
    if not values:
        return {"count": 0}
    ordered = sorted(values)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return {
        "count": len(ordered),
        "min": ordered[0],
        "median": statistics.median(ordered),
        "p90": pick(0.9),
        "max": ordered[-1],
        "mean": round(statistics.fmean(ordered), 1),
        "total": sum(ordered),
    }


def make_card(
    built: BuildResult,
    train: Sequence[TokenizedExample],
    val: Sequence[TokenizedExample],
    *,
    twin: str,
    max_length: int,
    tokenizer_name: str,
) -> dict:
    per_source: dict[str, dict[str, int]] = {}
    for source, n in sorted(built.read.items()):
        per_source[source] = {"read": n, "train": 0, "val": 0, "replies": 0, "derived": 0}
    for ex in built.examples:
        counts = per_source.setdefault(ex.source, {"read": 0, "train": 0, "val": 0, "replies": 0, "derived": 0})
        counts[ex.split] += 1
        # Prompted by what they really answered, rather than by a header or a derived instruction.
        counts["replies"] += ex.meta.get("prompt_kind") == "reply"
        # Nothing was asked: the prompt is an instruction derived from the text itself.
        counts["derived"] += ex.meta.get("prompt_kind") == "derived"
    lengths = [len(t) for t in (*train, *val)]
    targets = [t.n_target for t in (*train, *val)]
    return {
        "twin": twin,
        "tokenizer": tokenizer_name,
        "max_length": max_length,
        "records_read": sum(built.read.values()),
        "examples": {"train": len(train), "val": len(val)},
        "split": {"train": len(built.train), "val": len(built.val)},
        "per_source": per_source,
        "dropped": {reason: dict(c) for reason, c in built.dropped.items()},
        # Checked on the whole split, not this run's selection: every train example was learned by some version.
        "leak_check": leak_check([e.target for e in built.train], [e.target for e in built.val]),
        "truncated": sum(1 for t in (*train, *val) if t.truncated),
        "tokens": {"example_length": _summary(lengths), "target_length": _summary(targets)},
        "timestamps": _time_range(built),
    }


def _time_range(built: BuildResult) -> dict[str, str | None]:
    stamps = [e.timestamp for e in built.examples if e.timestamp is not None]
    if not stamps:
        return {"oldest": None, "newest": None}
    return {"oldest": min(stamps).isoformat(), "newest": max(stamps).isoformat()}


def render_card(card: dict) -> str:
    """The card as Markdown, for the terminal and the version folder."""
    lines = [f"# Data-set card: {card['twin']}", ""]
    lines.append(
        f"Records read: {card['records_read']}  ·  examples: {card['examples']['train']} train / "
        f"{card['examples']['val']} val  ·  tokenizer: {card['tokenizer']}  ·  "
        f"max_length {card['max_length']}"
    )
    lines += ["", "| source | read | train | val | real replies | derived prompts |", "|---|---:|---:|---:|---:|---:|"]
    for source, c in card["per_source"].items():
        lines.append(
            f"| {source} | {c['read']} | {c['train']} | {c['val']} | {c.get('replies', 0)} | {c.get('derived', 0)} |"
        )
    dropped = card["dropped"]
    lines += ["", "Dropped: " + ("none" if not dropped else "")]
    for reason, counts in dropped.items():
        detail = ", ".join(f"{s} {n}" for s, n in sorted(counts.items()))
        lines.append(f"- {reason}: {sum(counts.values())} ({detail})")
    leak = card.get("leak_check")
    if leak:
        lines.append(
            f"Leak check: of {leak['val']} validation targets, {leak['exact']} also in training "
            f"word for word, {leak['near']} as near copies (Jaccard >= {NEAR_JACCARD})."
        )
    ex, tg = card["tokens"]["example_length"], card["tokens"]["target_length"]
    if ex.get("count"):
        lines += [
            "",
            f"Tokens per example: min {ex['min']}, median {ex['median']}, p90 {ex['p90']}, max {ex['max']} "
            f"(total {ex['total']}); the person's tokens: median {tg['median']}, total {tg['total']}.",
            f"Truncated to max_length: {card['truncated']}.",
        ]
    sel = card.get("selection")
    if sel:
        lines.append(
            f"This run: {sel.get('mode')} — {sel.get('new', 0)} new examples, "
            f"{sel.get('replay', 0)} replayed, scored on {card['examples']['val']} fixed validation examples."
        )
    privacy = card.get("privacy")
    if privacy:
        lines.append(_privacy_line(privacy))
    tr = card["timestamps"]
    if tr["oldest"]:
        lines.append(f"Time span: {tr['oldest'][:10]} to {tr['newest'][:10]}.")
    return "\n".join(lines) + "\n"


def _privacy_line(privacy: dict) -> str:
    forget = privacy.get("forget") or {}
    left_out = sum((forget.get("records_left_out") or {}).values())
    forgot = f"; forget requests: {forget.get('requests', 0)}, records left out: {left_out}"
    if not privacy.get("enabled"):
        return f"Privacy: off (nothing pseudonymised){forgot}."
    kinds = ", ".join(f"{k} {n}" for k, n in privacy.get("replaced_per_kind", {}).items()) or "nothing found"
    share = privacy.get("tokens_changed_share", 0.0)
    return f"Privacy: pseudonymised ({kinds}); {share:.2%} of tokens changed{forgot}."


def dropped_summary(built: BuildResult) -> str:
    """One line per reason, for the 'no usable records' error."""
    if not built.dropped:
        return "nothing was dropped"
    return "; ".join(f"{reason}: {sum(c.values())}" for reason, c in built.dropped.items())
