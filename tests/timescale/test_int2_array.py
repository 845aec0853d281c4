"""The raw writer's int2[] COPY encoding against psycopg's own (the encoder it replaces) and
what PostgreSQL reads back from it."""

from __future__ import annotations

import numpy as np
import psycopg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from psycopg import postgres, pq
from psycopg.adapt import PyFormat, Transformer

from ecgdash.timescale.waveform import Int2ArrayDumper, int2_array_binary
from tests.helpers import Db


def psycopg_encoding(conn: psycopg.Connection, x: np.ndarray) -> bytes:
    """What COPY ... set_types(["int2[]"]) sends for ``x`` as a list (psycopg's ListBinaryDumper)."""
    tx = Transformer(conn)
    tx.set_dumper_types([postgres.types.get_oid("int2[]")], pq.Format.BINARY)
    (ref,) = tx.dump_sequence([x.tolist()], [PyFormat.BINARY])
    return bytes(ref)


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(x=arrays(np.int16, st.integers(0, 2000)))
def test_int2_array_binary_is_psycopgs_encoding(pg_native: Db, x: np.ndarray) -> None:
    with psycopg.connect(pg_native.reader) as conn:
        assert int2_array_binary(x) == psycopg_encoding(conn, x)


def test_postgres_reads_it_back_from_strided_rows(pg_native: Db) -> None:
    """The writer passes rows of a (leads, n) block: views, C-contiguous or not; a binary COPY
    with the writer's dumper stores exactly their values."""
    block = np.array([[-32768, 0, 32767, 5], [1, -1, 2, -3]], dtype=np.int16)
    rows = [block[1], block.T[0], block[0, ::-1], block[0, :0]]
    with psycopg.connect(pg_native.reader) as conn:
        for row in rows:
            assert int2_array_binary(row) == psycopg_encoding(conn, row)
        conn.execute("CREATE TEMP TABLE t (i int4, a int2[])")
        with conn.cursor() as cur:
            cur.adapters.register_dumper(None, Int2ArrayDumper)
            with cur.copy("COPY t (i, a) FROM STDIN (FORMAT BINARY)") as cp:
                cp.set_types(["int4", "int2[]"])
                for i, row in enumerate(rows):
                    cp.write_row((i, row))
        got = [r[0] for r in conn.execute("SELECT a FROM t ORDER BY i")]
    assert got == [r.tolist() for r in rows]
