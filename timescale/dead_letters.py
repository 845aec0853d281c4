"""Dead letters: messages a job could not use, each once, with the reason."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import psycopg

from ecgdash.timescale.ledger import BatchKey


@dataclass(frozen=True)
class DeadLetter:
    """A Kafka message (where it came from, its bytes) and why it was not stored."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None = None
    reason: str = ""

    @property
    def patient_key(self) -> str | None:
        if self.key is None:
            return None
        return self.key.decode(errors="replace")[:64]

    def with_reason(self, reason: str) -> DeadLetter:
        return DeadLetter(self.topic, self.partition, self.offset, self.key, self.value, reason)


_INSERT = """
INSERT INTO dead_letters (query_id, batch_id, topic, kafka_partition, kafka_offset,
                          patient_key, reason)
VALUES (%s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (topic, kafka_partition, kafka_offset) DO NOTHING"""
_COUNT = "SELECT count(*) FROM dead_letters"


def insert(conn: psycopg.Connection, key: BatchKey, dead: Sequence[DeadLetter]) -> None:
    """Record `dead` (in the caller's transaction); a message recorded before is kept once."""
    if not dead:
        return
    with conn.cursor() as cur:
        cur.executemany(_INSERT, [
            (key.query_id, key.batch_id, d.topic, d.partition, d.offset, d.patient_key, d.reason)
            for d in dead
        ])


def count(conn: psycopg.Connection) -> int:
    row = conn.execute(_COUNT).fetchone()
    return int(row[0]) if row else 0
