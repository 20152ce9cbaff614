"""Data set: records → cleaned chat examples → tokens, with a card describing it all."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from doppel.atomic import atomic_open, atomic_write, atomic_write_json
from doppel.config import Persona, TrainingConfig
from doppel.dataset.card import dropped_summary, make_card, render_card
from doppel.dataset.examples import BuildResult, Example, build_examples
from doppel.dataset.tokenize import TokenizedExample, encode
from doppel.sources.records import Record


class NoUsableRecords(ValueError):
    """Nothing left to train on; the message says how many records were read and why each was dropped."""


@dataclass
class Dataset:
    built: BuildResult  # every example, both splits
    train_examples: list[Example]  # what this run trains on
    val_examples: list[Example]  # what it is scored on
    train: list[TokenizedExample]
    val: list[TokenizedExample]
    card: dict

    @property
    def examples(self) -> list[Example]:
        return self.built.examples


def check_usable(built: BuildResult, twin: str) -> None:
    if built.train:
        return
    per_source = ", ".join(f"{s}: {n}" for s, n in sorted(built.read.items())) or "none"
    raise NoUsableRecords(
        f"no usable training examples for twin {twin!r}: read {sum(built.read.values())} records "
        f"({per_source}); {len(built.examples)} usable, {len(built.val)} of them held out for validation; "
        f"dropped: {dropped_summary(built)}. Check persona.email_pattern / persona.user_id and the "
        f"source tables, or lower training.min_chars."
    )


def fixed_val_set(val: list[Example], limit: int) -> list[Example]:
    """The first ``limit`` validation examples by a hash of their key: the same set every run, as data grows."""
    ordered = sorted(val, key=lambda e: hashlib.sha256(e.key.encode()).digest())
    return ordered[:limit]


def val_set_digest(examples: list[Example]) -> str:
    """A fingerprint of which examples a loss was measured on, so a later reader knows it may reuse it."""
    return hashlib.sha256("\n".join(sorted(e.key for e in examples)).encode()).hexdigest()[:16]


def build_dataset(
    records: list[Record],
    tokenizer,
    *,
    twin: str,
    persona: Persona,
    training: TrainingConfig,
    built: BuildResult | None = None,
    train_examples: list[Example] | None = None,
    val_examples: list[Example] | None = None,
    selection: dict | None = None,
    privacy: dict | None = None,
) -> Dataset:
    """Tokenise a run's examples (by default every train example, and the val split) and describe them.

    ``training`` is the run's resolved training settings (overrides applied): its split, minimum length
    and token limit shape the data set. ``privacy`` is what privacy replaced and left out (counts only),
    shown on the card.
    """
    max_length = training.max_length
    if built is None:
        built = build_examples(records, persona, min_chars=training.min_chars, val_fraction=training.val_fraction)
    check_usable(built, twin)
    train_examples = built.train if train_examples is None else train_examples
    val_examples = built.val if val_examples is None else val_examples
    train = [encode(tokenizer, e, max_length) for e in train_examples]
    val = [encode(tokenizer, e, max_length) for e in val_examples]
    card = make_card(built, train, val, twin=twin, max_length=max_length, tokenizer_name=tokenizer.name_or_path or "?")
    if selection:
        card["selection"] = selection
    if privacy is not None:
        card["privacy"] = privacy  # counts per source and kind (doppel.privacy.records.PrivacyReport)
    return Dataset(built, train_examples, val_examples, train, val, card)


def write_dataset(dataset: Dataset, folder: Path) -> Path:
    """Examples as JSONL (one file per split) and the card, written atomically into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for split in ("train", "val"):
        path = folder / f"{split}.jsonl"
        with atomic_open(path) as fh:
            for ex in dataset.built.examples:
                if ex.split == split:
                    row = {"key": ex.key, "timestamp": ex.timestamp, "messages": ex.messages, "meta": ex.meta}
                    fh.write(json.dumps(row, default=str) + "\n")
    write_card(dataset.card, folder)
    return folder


SPLITS_FILE = "splits.json"


def write_splits(built: BuildResult, folder: Path) -> None:
    """Which side every example was on (keys only, no text), so later runs keep them there."""
    atomic_write_json(folder / SPLITS_FILE, built.splits, sort_keys=True)


def read_splits(folder: Path | None) -> dict[str, str]:
    """A version's ``splits.json``, or nothing for a version made before versions kept one."""
    path = None if folder is None else folder / SPLITS_FILE
    if path is None or not path.is_file():
        return {}
    return json.loads(path.read_text())


def write_card(card: dict, folder: Path) -> None:
    atomic_write(folder / "dataset_card.json", json.dumps(card, indent=2, default=str))
    atomic_write(folder / "dataset_card.md", render_card(card))


__all__ = [
    "Dataset",
    "Example",
    "NoUsableRecords",
    "TokenizedExample",
    "build_dataset",
    "check_usable",
    "fixed_val_set",
    "val_set_digest",
    "render_card",
    "write_dataset",
    "write_card",
    "read_splits",
    "write_splits",
]
