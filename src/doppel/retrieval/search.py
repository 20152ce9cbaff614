"""Asking the index: the question embedded, the nearest of the person's records back."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from doppel.config import RetrievalConfig
from doppel.db import Database
from doppel.retrieval.store import Hit, RecordIndex

log = logging.getLogger(__name__)

NO_INDEX = "no retrieval index for twin {twin}: run `doppel index` (or a training run) to build it"


@dataclass
class Found:
    """What one question retrieved; ``notice`` says why nothing was (no index yet), never silently."""

    hits: list[Hit] = field(default_factory=list)
    notice: str | None = None
    ms: float = 0.0


_shared_lock = threading.Lock()
_shared: list = []


def shared_embedder():
    """One MiniLM per process, loaded on first use: a server holding several twins and versions needs one."""
    with _shared_lock:
        if not _shared:
            from doppel.embeddings import Embedder

            _shared.append(Embedder())
        return _shared[0]


class Retriever:
    """One twin's index with a loaded embedder; safe to share between request threads."""

    def __init__(self, db: Database, twin: str, config: RetrievalConfig, *, embedder=None):
        self.db = db
        self.twin = twin
        self.config = config
        self.index = RecordIndex(db)
        self._embedder = embedder
        self._has_rows: bool | None = None

    @property
    def embedder(self):
        if self._embedder is None:
            self._embedder = shared_embedder()
        return self._embedder

    def ready(self) -> bool:
        """Whether the twin has an index with rows (checked until it has; then trusted)."""
        if not self._has_rows:
            self._has_rows = bool(self.index.exists() and sum(self.index.count(self.twin).values()))
        return self._has_rows

    def find(
        self,
        question: str,
        *,
        k: int | None = None,
        splits: Sequence[str] = ("train", "val"),
        exclude: Sequence[str] = (),
    ) -> Found:
        import time

        started = time.perf_counter()
        if not question.strip():
            return Found()
        if not self.ready():
            return Found(notice=NO_INDEX.format(twin=self.twin))
        vector = self.embedder.encode([question])[0]
        hits = self.index.nearest(
            self.twin,
            vector,
            question,
            k=k or self.config.k,
            splits=splits,
            exclude=exclude,
            hybrid=self.config.hybrid,
        )
        hits = [h for h in hits if h.score >= self.config.min_similarity]
        return Found(hits, ms=round((time.perf_counter() - started) * 1000, 1))
