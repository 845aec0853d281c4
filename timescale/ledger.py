"""The exactly-once ledger (``writer_batches``), shared by every writer of micro-batches.

A writer claims (query id, batch id) at the start of its transaction and fills in the counts at
the end: the rows and the ledger row commit together, and a batch id already in the ledger is a
replay to skip. The query id is Spark's, kept in the checkpoint, so (id, batch) names a batch
for good.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg


@dataclass(frozen=True)
class BatchKey:
    """A micro-batch for good: Spark's query id (from the checkpoint), its name, the batch id."""

    query_id: str
    query_name: str
    batch_id: int


_CLAIM = """
INSERT INTO writer_batches (query_id, batch_id, query_name, messages, chunks, samples,
                            duplicates_skipped, dead_lettered)
VALUES (%s, %s, %s, %s, 0, 0, 0, 0)
ON CONFLICT (query_id, batch_id) DO NOTHING
RETURNING batch_id"""
_FINISH = """
UPDATE writer_batches SET chunks = %s, samples = %s, duplicates_skipped = %s, dead_lettered = %s
WHERE query_id = %s AND batch_id = %s"""


def claim(conn: psycopg.Connection, key: BatchKey, messages: int) -> bool:
    """Record the batch in the caller's transaction; False if it was committed before."""
    row = conn.execute(_CLAIM, (key.query_id, key.batch_id, key.query_name, messages)).fetchone()
    return row is not None


def finish(conn: psycopg.Connection, key: BatchKey, *, chunks: int, samples: int = 0,
           duplicates: int = 0, dead: int = 0) -> None:
    """Fill in the counts of a claimed batch (same transaction)."""
    conn.execute(_FINISH, (chunks, samples, duplicates, dead, key.query_id, key.batch_id))
