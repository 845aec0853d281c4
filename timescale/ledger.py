"""The exactly-once ledger (``writer_batches``), shared by every writer of micro-batches.

A writer claims (query id, batch id) at the start of its transaction and fills in the counts at
the end: the rows and the ledger row commit together, and a batch id already in the ledger is a
replay to skip. The query id is Spark's, kept in the checkpoint, so (id, batch) names a batch
for good. The ledger also keeps the Kafka offsets each batch consumed: a batch id that comes
back with other offsets is a :class:`ReplayMismatch`, never a silent skip.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import psycopg

from ecgdash.core.errors import ReplayMismatch

Offsets = Mapping[int, tuple[int, int]]  # partition -> (first, last) offset consumed


@dataclass(frozen=True)
class BatchKey:
    """A micro-batch for good: Spark's query id (from the checkpoint), its name, the batch id."""

    query_id: str
    query_name: str
    batch_id: int


_CLAIM = """
INSERT INTO writer_batches (query_id, batch_id, query_name, messages, chunks, samples,
                            duplicates_skipped, dead_lettered, offsets)
VALUES (%s, %s, %s, %s, 0, 0, 0, 0, %s)
ON CONFLICT (query_id, batch_id) DO NOTHING
RETURNING batch_id"""
_STORED = "SELECT offsets FROM writer_batches WHERE query_id = %s AND batch_id = %s"
_FINISH = """
UPDATE writer_batches SET chunks = %s, samples = %s, duplicates_skipped = %s, dead_lettered = %s,
                          conflicts = %s
WHERE query_id = %s AND batch_id = %s"""


def offsets_json(offsets: Offsets | None) -> str | None:
    """The ledger's form: {"<partition>": [first, last]}, keys in partition order."""
    if offsets is None:
        return None
    return json.dumps({str(p): [int(a), int(b)] for p, (a, b) in sorted(offsets.items())})


def _check_same(key: BatchKey, stored: object, offsets: Offsets | None) -> None:
    if offsets is None or stored is None:
        return  # a writer that does not track offsets, or a batch from before offsets were kept
    now = json.loads(offsets_json(offsets) or "{}")
    if stored != now:
        raise ReplayMismatch(
            f"batch {key.batch_id} of {key.query_name} ({key.query_id}) is in the ledger with "
            f"offsets {json.dumps(stored)} but came back with {json.dumps(now)}: the checkpoint "
            "and the ledger disagree (was the checkpoint replaced or the topic re-created?)"
        )


def committed(conn: psycopg.Connection, key: BatchKey, offsets: Offsets | None = None) -> bool:
    """Whether the batch is in the ledger (a replay); ReplayMismatch if with other offsets."""
    row = conn.execute(_STORED, (key.query_id, key.batch_id)).fetchone()
    if row is None:
        return False
    _check_same(key, row[0], offsets)
    return True


def claim(conn: psycopg.Connection, key: BatchKey, messages: int,
          offsets: Offsets | None = None) -> bool:
    """Record the batch in the caller's transaction; False if it was committed before (with the
    same offsets; ReplayMismatch otherwise)."""
    row = conn.execute(_CLAIM, (key.query_id, key.batch_id, key.query_name, messages,
                                offsets_json(offsets))).fetchone()
    if row is not None:
        return True
    committed(conn, key, offsets)
    return False


def finish(conn: psycopg.Connection, key: BatchKey, *, chunks: int, samples: int = 0,
           duplicates: int = 0, dead: int = 0, conflicts: int = 0) -> None:
    """Fill in the counts of a claimed batch (same transaction)."""
    conn.execute(_FINISH, (chunks, samples, duplicates, dead, conflicts, key.query_id,
                           key.batch_id))
