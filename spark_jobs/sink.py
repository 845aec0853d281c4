"""The foreachBatch sink of the stateful jobs (heart-rate job, alarm job): a micro-batch's output
rows and its ledger row in one transaction, so a replayed batch stores nothing twice."""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from typing import Any

import psycopg
from pyspark.sql import DataFrame

from ecgdash.spark_jobs.retry import retry_transient
from ecgdash.spark_jobs.session import Checkpoint, query_id
from ecgdash.timescale.connection import connect
from ecgdash.timescale.ledger import BatchKey

log = logging.getLogger(__name__)


class WriterConnection:
    """One database connection of a foreachBatch writer (``writer_dsn``, ``_conn``: fields of
    the dataclass using it), opened on first use and dropped after an error."""

    writer_dsn: str
    _conn: psycopg.Connection | None

    def conn(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed:
            self._conn = connect(self.writer_dsn)
        return self._conn

    def _drop_conn(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None


@dataclass
class BatchSink(WriterConnection):
    """foreachBatch function: one database connection; a lost one is retried with backoff for
    ``retry_for_s`` (as the raw writer does). Subclasses name the query and store the rows
    (:meth:`write`, returning False when the ledger already holds the batch: a replay)."""

    writer_dsn: str = field(repr=False)
    checkpoint: Checkpoint
    retry_for_s: float = 600.0  # how long a batch waits out a database outage before failing
    # fault injection for tests only: end the process right after committing this batch id,
    # before Spark records the batch in its checkpoint (so the restarted query replays it)
    exit_after_commit: int | None = None
    timings: list[tuple[int, float, float]] = field(default_factory=list)  # batch, compute s, write s
    replays: list[int] = field(default_factory=list)  # batch ids found already committed
    _conn: psycopg.Connection | None = None
    query_name = ""

    def write(self, conn: psycopg.Connection, key: BatchKey, rows: list[dict[str, Any]]) -> bool:
        raise NotImplementedError

    def _write(self, key: BatchKey, rows: list[dict[str, Any]]) -> bool:
        return self.write(self.conn(), key, rows)

    def __call__(self, df: DataFrame, batch_id: int) -> None:
        t0 = time.perf_counter()
        rows = df.toArrow().to_pylist()  # computing the batch happens here
        t1 = time.perf_counter()
        key = BatchKey(query_id(self.checkpoint, df.sparkSession), self.query_name, batch_id)
        written = retry_transient(lambda: self._write(key, rows), retry_for_s=self.retry_for_s,
                                  what=f"{self.query_name} batch {batch_id}",
                                  on_error=self._drop_conn)
        if not written:
            self.replays.append(batch_id)
            log.warning("batch %s of %s already committed: skipped (replay)", batch_id,
                        self.query_name)
        self.timings = [*self.timings[-99:], (batch_id, t1 - t0, time.perf_counter() - t1)]
        if written and self.exit_after_commit is not None and batch_id == self.exit_after_commit:
            log.warning("fault injection: exiting after committing batch %s", batch_id)
            os._exit(137)

    def close(self) -> None:
        self._drop_conn()
