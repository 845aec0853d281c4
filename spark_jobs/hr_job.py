"""The heart-rate job: beats and signal quality per patient, state carried across micro-batches.

A second query on the waveform topic, with its own checkpoint, trigger 60 s by default. Per
patient, ``applyInPandasWithState`` restores the streaming QRS detector (``ecgdash.core.qrs``) from
its serialised state, feeds the batch's chunks in signal order and keeps the new state, so a beat
on a batch boundary is found once. Beats and 1-s quality windows are written with the batch's
(query id, batch id) in one transaction, as the raw writer does.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import psycopg
from ecgdash.spark_jobs.session import Checkpoint, StreamSource, query_id, read_topic, start_query
from ecgdash.timescale.heart_rate import write_hr_batch
from ecgdash.timescale.ledger import BatchKey
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.streaming import StreamingQuery
from pyspark.sql.streaming.state import GroupState, GroupStateTimeout

from ecgdash.core.codec import PatientMeta, decode
from ecgdash.core.errors import DecodeError
from ecgdash.core.kafka import PLAINTEXT, KafkaSecurity
from ecgdash.core.qrs import DetectorConfig, StateError, StreamingQRSDetector

QUERY_NAME = "hr_job"
MAX_GAP_S = 10.0  # a longer gap in a patient's stream restarts its detector
OUTPUT_SCHEMA = (
    "kind string, patient_id string, stream_index long, time_us long, rr_ms double, "
    "hr_bpm double, leads string, quality double, length long, valid boolean, flags string"
)
STATE_SCHEMA = (
    "detector binary, base_index long, next_index long, start_us long, fs double, leads string"
)
_FLAG_NAMES = ((1, "gap"), (2, "flat"), (4, "saturated"), (8, "noisy"))


def _flags_text(flags: tuple[int, ...]) -> str:
    """Problems set on every lead of the window ('' when one lead is clean), as Grafana reads it."""
    common = 0
    if flags:
        common = flags[0]
        for f in flags[1:]:
            common &= f
    return ",".join(name for bit, name in _FLAG_NAMES if common & bit)


def detect_group(
    key: tuple[Any, ...], batches: Iterator[pd.DataFrame], state: GroupState
) -> Iterator[pd.DataFrame]:
    """One patient's messages of this batch (in offset order) -> beats and quality rows."""
    patient = str(key[0])
    pdf = pd.concat(list(batches)).sort_values(["partition", "offset"])
    det = None
    base = nxt = start_us = 0
    fs = 0.0
    leads = ""
    if state.exists:
        blob, base, nxt, start_us, fs, leads = state.get
        try:
            det = StreamingQRSDetector.from_bytes(bytes(blob), DetectorConfig())
        except StateError as exc:  # another detector version or settings: learn afresh
            logging.getLogger(__name__).warning("patient %s: new detector (%s)", patient, exc)
            det = None
    out: list[tuple] = []
    for value in pdf["value"]:
        try:
            msg = decode(patient.encode(), value)
        except DecodeError:
            continue  # the raw writer dead-letters it
        if isinstance(msg, PatientMeta):
            leads = ",".join(s.lead for s in msg.signals)
            continue
        n = msg.n_samples
        restart = det is None or msg.start_us != start_us or msg.fs != fs
        if not restart and msg.first_index > nxt + MAX_GAP_S * fs:
            restart = True
        if restart:
            det = StreamingQRSDetector(msg.fs, msg.n_leads)
            base = nxt = msg.first_index
            start_us, fs = msg.start_us, msg.fs
        assert det is not None
        if msg.first_index + n <= nxt:
            continue  # already seen (a duplicated message)
        x = msg.samples.T.astype(np.float64)
        if msg.first_index < nxt:
            x = x[nxt - msg.first_index :]
        elif msg.first_index > nxt:  # a short gap: the detector flags it
            x = np.vstack([np.full((msg.first_index - nxt, msg.n_leads), np.nan), x])
        res = det.process(x)
        nxt = msg.first_index + n
        names = leads.split(",") if leads else []
        for b in res.beats:
            idx = base + b.index
            used = ",".join(names[i] if i < len(names) else str(i) for i in b.leads)
            out.append(("beat", patient, idx, start_us + round(idx * 1e6 / fs), b.rr_ms, b.hr_bpm,
                        used, b.quality, None, None, None))
        for w in res.windows:
            idx = base + w.start
            out.append(("quality", patient, idx, start_us + round(idx * 1e6 / fs), None, None,
                        None, w.quality, w.length, w.usable, _flags_text(w.flags)))
    if det is not None:
        state.update((det.to_bytes(), base, nxt, start_us, fs, leads))
    if out:  # nothing at all, rather than an untyped empty frame Spark has to concatenate
        yield pd.DataFrame(out, columns=[c.split()[0] for c in OUTPUT_SCHEMA.split(", ")])


@dataclass
class HrWriter:
    writer_dsn: str
    checkpoint: Checkpoint
    _conn: psycopg.Connection | None = None

    timings: list[tuple[int, float, float]] = field(default_factory=list)  # batch, compute s, write s

    def __call__(self, df: DataFrame, batch_id: int) -> None:
        t0 = time.perf_counter()
        rows = df.toArrow().to_pylist()
        t1 = time.perf_counter()
        qid = query_id(self.checkpoint, df.sparkSession)
        if self._conn is None or self._conn.closed:
            # no server-side prepared statements: the embedded TimescaleDB shares one session
            self._conn = psycopg.connect(self.writer_dsn, prepare_threshold=None)
        try:
            write_hr_batch(self._conn, BatchKey(qid, QUERY_NAME, batch_id), rows)
        except Exception:
            self._conn.close()
            self._conn = None
            raise
        self.timings = [*self.timings[-99:], (batch_id, t1 - t0, time.perf_counter() - t1)]

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()


def start_hr_job(
    spark: SparkSession,
    *,
    bootstrap: str,
    topic: str,
    writer_dsn: str,
    checkpoint: Checkpoint,
    trigger_s: float = 60.0,
    source_format: str = "ecgkafka",
    available_now: bool = False,
    max_offsets_per_trigger: int | None = None,
    starting_offsets: str = "earliest",
    security: KafkaSecurity = PLAINTEXT,
) -> tuple[StreamingQuery, HrWriter]:
    """Start the heart-rate query (trigger `trigger_s`, 5 s or more recommended)."""
    src = StreamSource(bootstrap, topic, source_format, starting_offsets, max_offsets_per_trigger,
                       security)
    beats = (
        read_topic(spark, src, QUERY_NAME)
        .where(F.col("key").isNotNull())
        .select(F.col("key").cast("string").alias("patient"), "value", "partition", "offset")
        .groupBy("patient")
        .applyInPandasWithState(detect_group, OUTPUT_SCHEMA, STATE_SCHEMA, "append",
                                GroupStateTimeout.NoTimeout)
    )
    writer = HrWriter(writer_dsn, checkpoint)
    query = start_query(beats, QUERY_NAME, writer, checkpoint, trigger_s, available_now)
    return query, writer
