"""The raw writer: every sample from Kafka into the waveform table, exactly once.

A 2-second micro-batch is decoded on the driver (a batch of 100 patients is ~200 messages),
malformed messages go to the dead-letter topic with their reason, and the rest is COPYed with
the batch id in one transaction (``ecgdash.timescale.waveform``). Run it with
``ecgdash spark raw-writer`` (settings from the environment).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import psycopg
from ecgdash.spark_jobs.session import Checkpoint, StreamSource, query_id, read_topic, start_query
from ecgdash.timescale.dead_letters import DeadLetter
from ecgdash.timescale.ledger import BatchKey
from ecgdash.timescale.waveform import Batch, BatchResult, write_batch
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.streaming import StreamingQuery

from ecgdash.core.codec import PatientMeta, decode
from ecgdash.core.errors import DecodeError
from ecgdash.core.kafka import PLAINTEXT, KafkaSecurity, Publisher

log = logging.getLogger(__name__)
QUERY_NAME = "raw_writer"


def decode_rows(rows: list[dict[str, Any]]) -> Batch:
    """Decode Kafka rows (built-in source schema) in offset order; failures become dead letters."""
    batch = Batch(messages=len(rows))
    for r in rows:
        origin = DeadLetter(r["topic"], r["partition"], r["offset"], r["key"], r["value"], "")
        try:
            msg = decode(r["key"], r["value"])
        except DecodeError as exc:
            batch.dead.append(origin.with_reason(exc.reason))
            continue
        if isinstance(msg, PatientMeta):
            batch.metas.append(msg)
        else:
            batch.chunks.append((msg, origin))
    return batch


@dataclass
class RawWriter:
    """The foreachBatch function; holds one database connection and one DLQ producer."""

    writer_dsn: str
    bootstrap: str
    dlq_topic: str
    checkpoint: Checkpoint
    query_name: str = QUERY_NAME
    security: KafkaSecurity = PLAINTEXT
    results: list[BatchResult] = field(default_factory=list)
    _conn: psycopg.Connection | None = None
    _dlq: Publisher | None = None

    def conn(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed:
            # no server-side prepared statements: the embedded TimescaleDB shares one session
            self._conn = psycopg.connect(self.writer_dsn, prepare_threshold=None)
        return self._conn

    def __call__(self, df: DataFrame, batch_id: int) -> None:
        table = df.select("key", "value", "topic", "partition", "offset").toArrow()
        rows = sorted(table.to_pylist(), key=lambda r: (r["partition"], r["offset"]))
        batch = decode_rows(rows)
        # Dead letters are published before the commit: a crash in between publishes them again
        # on replay (at least once on the topic), while the dead_letters table has them once.
        self.publish_dead(batch.dead)
        try:
            qid = query_id(self.checkpoint, df.sparkSession)
            result = write_batch(self.conn(), BatchKey(qid, self.query_name, batch_id), batch)
        except Exception:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
            raise
        if result is None:
            log.info("batch %s already committed: skipped", batch_id)
            return
        extra = [d for d in result.dead if d not in batch.dead]
        self.publish_dead(extra)
        self.results.append(result)

    def publish_dead(self, dead: list[DeadLetter]) -> None:
        if not dead:
            return
        if self._dlq is None:
            self._dlq = Publisher(self.bootstrap, self.dlq_topic, self.security, retries=5)
        for d in dead:
            self._dlq.send(d.key, d.value, headers=[
                ("reason", d.reason.encode()), ("source_topic", d.topic.encode()),
                ("source_partition", str(d.partition).encode()),
                ("source_offset", str(d.offset).encode()),
            ])
        self._dlq.flush(timeout_s=30)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
        if self._dlq is not None:
            self._dlq.close()


def start_raw_writer(
    spark: SparkSession,
    *,
    bootstrap: str,
    topic: str,
    dlq_topic: str,
    writer_dsn: str,
    checkpoint: Checkpoint,
    trigger_s: float = 2.0,
    source_format: str = "ecgkafka",
    available_now: bool = False,
    max_offsets_per_trigger: int | None = None,
    starting_offsets: str = "earliest",
    security: KafkaSecurity = PLAINTEXT,
) -> tuple[StreamingQuery, RawWriter]:
    """Start the query; `available_now` processes what is in the topic now, then stops."""
    src = StreamSource(bootstrap, topic, source_format, starting_offsets, max_offsets_per_trigger,
                       security)
    writer = RawWriter(writer_dsn, bootstrap, dlq_topic, checkpoint, security=security)
    query = start_query(read_topic(spark, src, QUERY_NAME), QUERY_NAME, writer, checkpoint,
                        trigger_s, available_now)
    return query, writer

