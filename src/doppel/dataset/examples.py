"""Records → chat examples whose only target is the person's own words."""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from doppel.config import Persona
from doppel.dataset.prompts import PROMPTS, clean_target
from doppel.sources.records import Record

Split = Literal["train", "val"]

# Why a record did not become an example; the data-set card counts each.
DROP_EMPTY = "empty after cleaning"
DROP_SHORT = "shorter than min_chars"
DROP_DUPLICATE = "duplicate of another record"


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


def build_examples(
    records: list[Record], persona: Persona, *, min_chars: int = 10, val_fraction: float = 0.1
) -> BuildResult:
    system = {"role": "system", "content": persona.system_message()}
    read: Counter = Counter()
    dropped: dict[str, Counter] = {DROP_EMPTY: Counter(), DROP_SHORT: Counter(), DROP_DUPLICATE: Counter()}
    seen: set[tuple[str, str]] = set()
    examples: list[Example] = []
    for record in records:
        read[record.source] += 1
        target = clean_target(record)
        if not target:
            dropped[DROP_EMPTY][record.source] += 1
            continue
        if len(target) < min_chars:
            dropped[DROP_SHORT][record.source] += 1
            continue
        prompt = PROMPTS[record.source](record)
        # Mail systems store the same message several times (sent, copies, threads).
        fingerprint = (prompt[-1]["content"], target)
        if fingerprint in seen:
            dropped[DROP_DUPLICATE][record.source] += 1
            continue
        seen.add(fingerprint)
        examples.append(
            Example(
                messages=(system, *prompt, {"role": "assistant", "content": target}),
                split=split_of(record.group, val_fraction),
                source=record.source,
                source_id=record.source_id,
                timestamp=record.timestamp,
                meta={k: v for k, v in record.fields.items() if k != "metadata"},
            )
        )
    return BuildResult(examples=examples, read=read, dropped={k: v for k, v in dropped.items() if v})
