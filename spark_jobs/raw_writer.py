"""The raw writer: every sample from Kafka into the waveform table, exactly once.

A 2-second micro-batch is decoded on the driver (a batch of 100 patients is ~200 messages).
Every message ends stored or dead-lettered with its reason, never failing the batch for the
others: the decoder refuses what a later stage would, and the database write isolates what the
database still rejects (``ecgdash.timescale.waveform.write_batch``). The rows, dead letters and
the batch id commit in one transaction; a replayed batch id is skipped (checked against the
ledger's offsets) without publishing anything again. A lost database connection is retried with
backoff for ``retry_for_s`` before the batch fails. Run it with ``ecgdash spark raw-writer``.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field

import psycopg
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.streaming import StreamingQuery

from ecgdash.core.codec import AnnotationBatch, PatientMeta, decode
from ecgdash.core.errors import DecodeError
from ecgdash.core.kafka import PLAINTEXT, KafkaSecurity, Publisher
from ecgdash.spark_jobs.kafka_source import GAP_MARKER
from ecgdash.spark_jobs.retry import retry_transient
from ecgdash.spark_jobs.session import Checkpoint, StreamSource, query_id, read_topic, start_query
from ecgdash.spark_jobs.sink import WriterConnection
from ecgdash.timescale import ledger
from ecgdash.timescale.dead_letters import DeadLetter
from ecgdash.timescale.ledger import BatchKey
from ecgdash.timescale.waveform import Batch, BatchResult, Gap, write_batch

log = logging.getLogger(__name__)
QUERY_NAME = "raw_writer"


def decode_rows(rows: list[dict]) -> Batch:
    """Decode Kafka rows (built-in source schema) in offset order; failures become dead letters,
    gap markers become gaps, and the batch remembers the offsets it covers."""
    batch = Batch(messages=len(rows))
    offsets: dict[int, tuple[int, int]] = {}
    for r in rows:
        p, o = int(r["partition"]), int(r["offset"])
        if r.get("timestampType") == GAP_MARKER and r["key"] is None:
            info = json.loads(r["value"])
            batch.gaps.append(Gap(r["topic"], p, o, int(info["resume"]), str(info["reason"])))
            batch.messages -= 1
            continue
        lo, hi = offsets.get(p, (o, o))
        offsets[p] = (min(lo, o), max(hi, o))
        origin = DeadLetter(r["topic"], p, o, r["key"], r["value"], "")
        try:
            msg = decode(r["key"], r["value"])
        except DecodeError as exc:
            batch.dead.append(origin.with_reason(exc.reason))
            continue
        if isinstance(msg, PatientMeta):
            batch.metas.append((msg, origin))
        elif isinstance(msg, AnnotationBatch):
            batch.labels.append((msg, origin))
        else:
            batch.chunks.append((msg, origin))
    batch.offsets = offsets
    return batch


@dataclass
class RawWriter(WriterConnection):
    """The foreachBatch function; holds one database connection and one DLQ producer."""

    writer_dsn: str = field(repr=False)
    bootstrap: str
    dlq_topic: str
    checkpoint: Checkpoint
    query_name: str = QUERY_NAME
    security: KafkaSecurity = PLAINTEXT
    retry_for_s: float = 600.0  # how long a batch waits out a database outage before failing
    # fault injection for tests only: end the process right after committing this batch id,
    # before Spark records the batch in its checkpoint (so the restarted query replays it)
    exit_after_commit: int | None = None
    results: list[BatchResult] = field(default_factory=list)
    replays: list[int] = field(default_factory=list)  # batch ids found already committed
    _conn: psycopg.Connection | None = None
    _dlq: Publisher | None = None

    def __call__(self, df: DataFrame, batch_id: int) -> None:
        table = df.select("key", "value", "topic", "partition", "offset", "timestampType").toArrow()
        rows = sorted(table.to_pylist(), key=lambda r: (r["partition"], r["offset"]))
        batch = decode_rows(rows)
        key = BatchKey(query_id(self.checkpoint, df.sparkSession), self.query_name, batch_id)
        result = retry_transient(lambda: self._write(key, batch), retry_for_s=self.retry_for_s,
                                 what=f"{self.query_name} batch {batch_id}",
                                 on_error=self._drop_conn)
        if result is None:
            self.replays.append(batch_id)
            log.warning("batch %s of %s already committed: skipped (replay)", batch_id,
                        self.query_name)
            return
        self.results.append(result)
        if self.exit_after_commit is not None and batch_id == self.exit_after_commit:
            log.warning("fault injection: exiting after committing batch %s", batch_id)
            os._exit(137)

    def _write(self, key: BatchKey, batch: Batch) -> BatchResult | None:
        conn = self.conn()
        # a replay of a committed batch publishes nothing again (checked before anything else)
        with conn.transaction():
            if ledger.committed(conn, key, batch.offsets):
                return None
        return write_batch(conn, key, batch, before_commit=self.publish_dead)

    def publish_dead(self, dead: list[DeadLetter]) -> None:
        """To the dead-letter topic, with the reason and origin in headers; raises if the broker
        does not acknowledge (the transaction then rolls back and the batch is retried)."""
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
        self._drop_conn()
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
    fail_on_data_loss: bool = True,
    exit_after_commit: int | None = None,
) -> tuple[StreamingQuery, RawWriter]:
    """Start the query; `available_now` processes what is in the topic now, then stops."""
    src = StreamSource(bootstrap, topic, source_format, starting_offsets, max_offsets_per_trigger,
                       security, fail_on_data_loss)
    writer = RawWriter(writer_dsn, bootstrap, dlq_topic, checkpoint, security=security,
                       exit_after_commit=exit_after_commit)
    query = start_query(read_topic(spark, src, QUERY_NAME), QUERY_NAME, writer, checkpoint,
                        trigger_s, available_now)
    return query, writer
