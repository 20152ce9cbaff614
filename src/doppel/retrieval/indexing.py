"""Keeping the index equal to the data set: what a run built goes in, what it no longer holds comes out.

The rows are the data set's own examples, so the index holds exactly what the
twin learned from: the person's words (pseudonymised when privacy is on, as in
training), forgotten records already left out. Only new or changed rows are
embedded, so the nightly run pays for the day's records, not the whole history.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from doppel.dataset.examples import Example
from doppel.db import Database
from doppel.retrieval.store import IndexRow, RecordIndex

log = logging.getLogger(__name__)

# How much of the prompt a row keeps: enough to say what was answered, not a whole quoted thread.
PROMPT_CHARS = 1000
EMBED_BATCH = 64

Progress = Callable[[int, int], None]


@dataclass
class IndexReport:
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    total: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return dict(self.__dict__)

    def summary(self) -> str:
        return (
            f"{self.total} records indexed ({self.added} added, {self.updated} updated, {self.removed} removed, "
            f"{self.unchanged} unchanged) in {self.seconds:.1f} s"
        )


def row_of(example: Example) -> IndexRow:
    asked = example.prompt_messages[-1]["content"] if len(example.messages) > 1 else ""
    return IndexRow(
        key=example.key,
        source=example.source,
        split=example.split,
        written_at=example.timestamp,
        prompt=asked[:PROMPT_CHARS],
        body=example.target,
    )


def embedded_text(row: IndexRow) -> str:
    """What the vector is of: the person's words, the natural match for a question on the same subject."""
    return row.body


def sync_index(
    db: Database,
    twin: str,
    examples: Sequence[Example],
    *,
    embedder=None,
    progress: Progress | None = None,
) -> IndexReport:
    """Make the twin's index hold exactly ``examples`` (both splits, each marked)."""
    import time

    started = time.perf_counter()
    index = RecordIndex(db)
    index.ensure()
    rows = {r.key: r for r in map(row_of, examples)}
    held = index.digests(twin)
    report = IndexReport(total=len(rows))
    gone = [key for key in held if key not in rows]
    report.removed = index.delete(twin, gone)
    todo = [r for r in rows.values() if held.get(r.key, (None, None))[0] != r.digest]
    moved = {r.key: r.split for r in rows.values() if r.key in held and held[r.key][0] == r.digest}
    moved = {k: s for k, s in moved.items() if held[k][1] != s}
    if moved:
        index.set_splits(twin, moved)
    report.unchanged = len(rows) - len(todo)
    report.updated = sum(1 for r in todo if r.key in held)
    report.added = len(todo) - report.updated
    if progress:
        progress(0, len(todo))
    if todo:
        if embedder is None:
            from doppel.embeddings import Embedder

            embedder = Embedder()
        for start in range(0, len(todo), EMBED_BATCH):
            batch = todo[start : start + EMBED_BATCH]
            index.upsert(twin, batch, embedder.encode([embedded_text(r) for r in batch]))
            if progress:
                progress(start + len(batch), len(todo))
    report.seconds = round(time.perf_counter() - started, 2)
    log.info("index of %s: %s", twin, report.summary())
    return report
