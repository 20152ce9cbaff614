"""Reading a million rows keeps memory flat: the rows come through a server-side cursor."""

import psutil
import psycopg
from psycopg import sql

from doppel.sources.stream import stream_rows


def test_a_million_rows_stream_with_flat_memory(database_url):
    with psycopg.connect(database_url) as conn:
        conn.execute("CREATE TABLE big AS SELECT g AS id, repeat('x', 200) AS body FROM generate_series(1, 1000000) g")
        conn.commit()
        process = psutil.Process()
        before = process.memory_info().rss
        peak = before
        count = 0
        for i, _row in enumerate(stream_rows(conn, sql.SQL("SELECT id, body FROM big ORDER BY id"), {})):
            count += 1
            if i % 50000 == 0:
                peak = max(peak, process.memory_info().rss)
    assert count == 1_000_000
    # The table is ~230 MB of text; fetched in one go it would all be in memory.
    assert peak - before < 40 * 2**20
