"""The index table: one row per record the person wrote, with its MiniLM embedding, in doppel's schema.

pgvector's HNSW index answers "the k rows nearest this vector" without reading
the table; a GIN index over the text's ``tsvector`` serves the full-text half of
hybrid search. The table lives in the state database (doppel's own), never in a
CRM doppel only reads, and its DDL is kept apart from the rest of the schema so
a server without pgvector can still run everything else.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import psycopg

from doppel.db import SCHEMA, Database
from doppel.embeddings import DIMENSIONS

log = logging.getLogger(__name__)

TABLE = f"{SCHEMA}.record_index"

_DDL = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    twin        TEXT NOT NULL,
    record_key  TEXT NOT NULL,
    source      TEXT NOT NULL,
    split       TEXT NOT NULL CHECK (split IN ('train', 'val')),
    written_at  TIMESTAMPTZ,
    prompt      TEXT NOT NULL,
    body        TEXT NOT NULL,
    digest      TEXT NOT NULL,
    embedding   vector({DIMENSIONS}) NOT NULL,
    indexed_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (twin, record_key)
);
CREATE INDEX IF NOT EXISTS record_index_hnsw ON {TABLE} USING hnsw (embedding vector_cosine_ops);
CREATE INDEX IF NOT EXISTS record_index_text ON {TABLE} USING gin (to_tsvector('simple', body));
"""

ENABLE_HINT = (
    "install pgvector on the server (the postgresql-<major>-pgvector package, or build it from "
    "github.com/pgvector/pgvector) and run CREATE EXTENSION vector in that database as a superuser; "
    "or set [twins.retrieval] enabled = false to train and answer without retrieval"
)


class RetrievalUnavailable(RuntimeError):
    """The database cannot hold the index (no pgvector); the message says how to enable it."""


@dataclass(frozen=True)
class IndexRow:
    key: str
    source: str
    split: str
    written_at: datetime | None
    prompt: str
    body: str

    @property
    def digest(self) -> str:
        """Changes when the text or its prompt does: the row is embedded again."""
        return hashlib.sha256(f"{self.prompt}\x00{self.body}".encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Hit:
    """One retrieved record: what a reply's ``sources`` list and the prompt are made of."""

    key: str
    source: str
    written_at: datetime | None
    prompt: str
    body: str
    score: float  # cosine similarity to the question (hybrid: still the cosine, for min_similarity)

    def excerpt(self, chars: int = 200) -> str:
        text = " ".join(self.body.split())
        return text if len(text) <= chars else text[: chars - 1].rstrip() + "…"

    def as_source(self) -> dict:
        return {
            "key": self.key,
            "source": self.source,
            "written_at": self.written_at.isoformat() if self.written_at else None,
            "score": round(self.score, 4),
            "excerpt": self.excerpt(),
        }


def vector_text(row: np.ndarray) -> str:
    """pgvector's text form, '[0.1,0.2,...]': no client-side adapter needed."""
    return "[" + ",".join(f"{x:.6g}" for x in row.tolist()) + "]"


class RecordIndex:
    """The index rows of every twin in one database."""

    def __init__(self, db: Database):
        self.db = db

    # -- setup ----------------------------------------------------------------------------------

    def ensure(self) -> None:
        """Create the extension, table and indexes; a server without pgvector gets a clear error."""
        self.db.ensure_schema()
        with self.db.connection() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('doppel record_index'))")
            available = conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'").fetchone()
            if available is None:
                raise RetrievalUnavailable(
                    f"the pgvector extension is not available on {self.db.describe()}: {ENABLE_HINT}"
                )
            try:
                conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
            except psycopg.errors.InsufficientPrivilege as exc:
                raise RetrievalUnavailable(
                    f"pgvector is available on {self.db.describe()} but doppel's role may not create it: {ENABLE_HINT}"
                ) from exc
            conn.execute(_DDL)

    def exists(self) -> bool:
        """Whether the table is there (nothing is created by asking)."""
        with self.db.connection() as conn:
            return conn.execute("SELECT to_regclass(%s) IS NOT NULL", (TABLE,)).fetchone()[0]

    # -- writing --------------------------------------------------------------------------------

    def digests(self, twin: str) -> dict[str, tuple[str, str]]:
        """{record key: (digest, split)} of what the twin's index holds."""
        with self.db.connection() as conn:
            rows = conn.execute(f"SELECT record_key, digest, split FROM {TABLE} WHERE twin = %s", (twin,))
            return {key: (digest, split) for key, digest, split in rows}

    def upsert(self, twin: str, rows: Sequence[IndexRow], vectors: np.ndarray) -> None:
        if len(rows) != len(vectors):
            raise ValueError(f"{len(rows)} rows but {len(vectors)} vectors")
        with self.db.connection() as conn, conn.cursor() as cur:
            cur.executemany(
                f"INSERT INTO {TABLE} (twin, record_key, source, split, written_at, prompt, body, digest, embedding) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s::vector) "
                "ON CONFLICT (twin, record_key) DO UPDATE SET source = EXCLUDED.source, split = EXCLUDED.split, "
                "written_at = EXCLUDED.written_at, prompt = EXCLUDED.prompt, body = EXCLUDED.body, "
                "digest = EXCLUDED.digest, embedding = EXCLUDED.embedding, indexed_at = now()",
                [
                    (twin, r.key, r.source, r.split, r.written_at, r.prompt, r.body, r.digest, vector_text(v))
                    for r, v in zip(rows, vectors)
                ],
            )

    def set_splits(self, twin: str, splits: dict[str, str]) -> None:
        with self.db.connection() as conn, conn.cursor() as cur:
            cur.executemany(
                f"UPDATE {TABLE} SET split = %s WHERE twin = %s AND record_key = %s",
                [(split, twin, key) for key, split in splits.items()],
            )

    def delete(self, twin: str | None, keys: Iterable[str]) -> int:
        """Remove these records (twin None: from every twin's index); how many rows went."""
        keys = list(keys)
        if not keys or not self.exists():
            return 0
        with self.db.connection() as conn:
            if twin is None:
                cur = conn.execute(f"DELETE FROM {TABLE} WHERE record_key = ANY(%s)", (keys,))
            else:
                cur = conn.execute(f"DELETE FROM {TABLE} WHERE twin = %s AND record_key = ANY(%s)", (twin, keys))
            return cur.rowcount

    def drop_twin(self, twin: str) -> int:
        if not self.exists():
            return 0
        with self.db.connection() as conn:
            return conn.execute(f"DELETE FROM {TABLE} WHERE twin = %s", (twin,)).rowcount

    # -- reading --------------------------------------------------------------------------------

    def count(self, twin: str) -> dict[str, int]:
        """Rows per split ({} when there is no index)."""
        if not self.exists():
            return {}
        with self.db.connection() as conn:
            rows = conn.execute(f"SELECT split, count(*) FROM {TABLE} WHERE twin = %s GROUP BY split", (twin,))
            return {split: n for split, n in rows}

    def nearest(
        self,
        twin: str,
        vector: np.ndarray,
        query: str,
        *,
        k: int,
        splits: Sequence[str] = ("train", "val"),
        exclude: Sequence[str] = (),
        hybrid: bool = False,
        candidates: int = 40,
    ) -> list[Hit]:
        """The k rows nearest ``vector`` (cosine); ``hybrid`` fuses them with full-text rank of ``query``."""
        with self.db.connection() as conn:
            # Filtered HNSW scans stop early and may return fewer than k; relaxed iterative scans keep going.
            conn.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
            conn.execute(f"SET LOCAL hnsw.ef_search = {max(40, 2 * int(candidates))}")
            vec = vector_text(vector)
            where = "twin = %s AND split = ANY(%s) AND NOT (record_key = ANY(%s))"
            params = (twin, list(splits), list(exclude))
            by_vector = conn.execute(
                f"SELECT record_key, source, written_at, prompt, body, 1 - (embedding <=> %s::vector) AS score "
                f"FROM {TABLE} WHERE {where} ORDER BY embedding <=> %s::vector LIMIT %s",
                (vec, *params, vec, candidates if hybrid else k),
            ).fetchall()
            if not hybrid:
                return [Hit(*row) for row in by_vector]
            by_text = conn.execute(
                f"SELECT record_key, source, written_at, prompt, body, 1 - (embedding <=> %s::vector) AS score "
                f"FROM {TABLE} WHERE {where} AND to_tsvector('simple', body) @@ plainto_tsquery('simple', %s) "
                f"ORDER BY ts_rank(to_tsvector('simple', body), plainto_tsquery('simple', %s)) DESC LIMIT %s",
                (vec, *params, query, query, candidates),
            ).fetchall()
        return fuse([[Hit(*r) for r in by_vector], [Hit(*r) for r in by_text]], k)

    def rows(self, twin: str) -> Iterator[tuple[str, str]]:
        """(record key, body) of every row, for checks and tests."""
        with self.db.connection() as conn:
            query = f"SELECT record_key, body FROM {TABLE} WHERE twin = %s ORDER BY record_key"
            yield from conn.execute(query, (twin,))


# The constant of reciprocal rank fusion (Cormack et al. 2009): large enough that one list's top rank
# does not drown the other list.
RRF_K = 60


def fuse(rankings: Sequence[Sequence[Hit]], k: int) -> list[Hit]:
    """Reciprocal rank fusion: each list gives 1 / (RRF_K + rank) to every hit it holds."""
    scores: dict[str, float] = {}
    hits: dict[str, Hit] = {}
    for ranking in rankings:
        for rank, hit in enumerate(ranking, start=1):
            scores[hit.key] = scores.get(hit.key, 0.0) + 1.0 / (RRF_K + rank)
            hits.setdefault(hit.key, hit)
    order = sorted(scores, key=lambda key: (-scores[key], key))
    return [hits[key] for key in order[:k]]
