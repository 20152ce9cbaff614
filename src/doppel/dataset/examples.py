"""Records → chat examples whose only target is the person's own words."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from doppel.config import Persona
from doppel.dataset.duplicates import NEAR_JACCARD, TextIndex
from doppel.dataset.instructions import derive_instruction, document_frequencies
from doppel.dataset.prompts import HEADINGS, PROMPTS, clean_target
from doppel.sources.records import Record

Split = Literal["train", "val"]

# Why a record did not become an example; the data-set card counts each.
DROP_EMPTY = "empty after cleaning"
DROP_SHORT = "shorter than min_chars"
DROP_DUPLICATE = "same text as a newer record"
DROP_NEAR_DUPLICATE = f"near copy of a newer record (Jaccard >= {NEAR_JACCARD})"
DROP_REASONS = (DROP_EMPTY, DROP_SHORT, DROP_DUPLICATE, DROP_NEAR_DUPLICATE)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Example:
    """System, prompt turns, then one assistant turn: the person's words, the only target."""

    messages: tuple[dict[str, str], ...]
    split: Split
    source: str
    source_id: str
    timestamp: datetime | None = None
    meta: dict = field(default_factory=dict)

    @property
    def target(self) -> str:
        return self.messages[-1]["content"]

    @property
    def prompt_messages(self) -> list[dict[str, str]]:
        return list(self.messages[:-1])

    @property
    def key(self) -> str:
        return f"{self.source}:{self.source_id}"


def split_of(group: str, val_fraction: float) -> Split:
    """A stable split: a pure function of the record's group, so adding data never moves a record.

    A hash is used rather than a seeded shuffle because a shuffle reassigns
    every record whenever one is added.
    """
    bucket = int.from_bytes(hashlib.sha256(group.encode()).digest()[:8], "big") / 2**64
    return "val" if bucket < val_fraction else "train"


@dataclass
class BuildResult:
    examples: list[Example]
    read: Counter  # records read, per source
    dropped: dict[str, Counter]  # reason -> per-source counts

    @property
    def train(self) -> list[Example]:
        return [e for e in self.examples if e.split == "train"]

    @property
    def val(self) -> list[Example]:
        return [e for e in self.examples if e.split == "val"]

    @property
    def splits(self) -> dict[str, Split]:
        """Example key -> side: what a version keeps so later runs leave every example where it was."""
        return {e.key: e.split for e in self.examples}


def build_examples(
    records: list[Record],
    persona: Persona,
    *,
    min_chars: int = 10,
    val_fraction: float = 0.1,
    pinned: Mapping[str, Split] | None = None,
) -> BuildResult:
    """Clean, drop copies, give every record a prompt, and split by thread.

    ``pinned`` maps example keys to the side an earlier version put them on
    (its ``splits.json``): those stay there, so a model is never scored on
    what it, or the version it continues from, was trained on.
    """
    system = {"role": "system", "content": persona.system_message()}
    read: Counter = Counter()
    dropped: dict[str, Counter] = {reason: Counter() for reason in DROP_REASONS}
    candidates: list[tuple[int, Record, str]] = []
    for i, record in enumerate(records):
        read[record.source] += 1
        target = clean_target(record)
        if not target:
            dropped[DROP_EMPTY][record.source] += 1
        elif len(target) < min_chars:
            dropped[DROP_SHORT][record.source] += 1
        else:
            candidates.append((i, record, target))

    # Newest first, so of several copies the newest is the one kept.
    candidates.sort(key=lambda c: (c[1].timestamp is not None, c[1].timestamp or _EPOCH, c[1].key), reverse=True)
    index = TextIndex()
    kept: list[tuple[int, Record, str]] = []
    copies_of: dict[str, list[str]] = {}  # kept key -> keys of the copies dropped for it
    for i, record, target in candidates:
        found = index.match(target)
        if found is not None:
            kind, original = found
            dropped[DROP_DUPLICATE if kind == "exact" else DROP_NEAR_DUPLICATE][record.source] += 1
            copies_of.setdefault(original, []).append(record.key)
            continue
        index.add(record.key, target)
        kept.append((i, record, target))
    kept.sort(key=lambda c: c[0])  # back in the order the sources gave

    df, n_docs = document_frequencies(target for _, _, target in kept)
    sides = _group_sides(kept, copies_of, pinned or {}, val_fraction)
    examples: list[Example] = []
    for _, record, target in kept:
        prompt = PROMPTS[record.source](record)
        meta = {k: v for k, v in record.fields.items() if k != "metadata"}
        if prompt is None:
            # Nothing specific was asked: an instruction derived from the text itself (see instructions.py).
            heading = HEADINGS[record.source](record) if record.source in HEADINGS else {}
            prompt = [{"role": "user", "content": derive_instruction(record.source, target, df, n_docs, **heading)}]
            meta["prompt_kind"] = "derived"
        examples.append(
            Example(
                messages=(system, *prompt, {"role": "assistant", "content": target}),
                split=sides[record.group],
                source=record.source,
                source_id=record.source_id,
                timestamp=record.timestamp,
                meta=meta,
            )
        )
    return BuildResult(examples=examples, read=read, dropped={k: v for k, v in dropped.items() if v})


def _group_sides(
    kept: list[tuple[int, Record, str]],
    copies_of: dict[str, list[str]],
    pinned: Mapping[str, Split],
    val_fraction: float,
) -> dict[str, Split]:
    """One side per group (a thread, a conversation): pinned where any member was pinned, else by hash.

    A group with members pinned to both sides goes to train: moving a held-out
    example into training loses a validation example, while the other way
    round would score a model on what it learned.
    """
    pinned_sides: dict[str, set[Split]] = {}
    for _, record, _ in kept:
        for key in (record.key, *copies_of.get(record.key, ())):
            if key in pinned:
                pinned_sides.setdefault(record.group, set()).add(pinned[key])
    sides: dict[str, Split] = {}
    for _, record, _ in kept:
        if record.group in sides:
            continue
        found = pinned_sides.get(record.group)
        if found:
            sides[record.group] = "train" if "train" in found else "val"
        else:
            sides[record.group] = split_of(record.group, val_fraction)
    return sides
