"""The heart-rate job: beats and signal quality per patient, state carried across micro-batches.

A second query on the waveform topic, with its own checkpoint, trigger 60 s by default. Per
patient, ``applyInPandasWithState`` restores the streaming QRS detector (``ecgdash.qrs``) from
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
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.streaming import StreamingQuery
from pyspark.sql.streaming.state import GroupState, GroupStateTimeout

from ecgdash.kafka_security import PLAINTEXT, KafkaSecurity
from spark_jobs.session import Checkpoint, StreamSource, query_id, read_topic, start_query

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
    from ecgdash.codec import PatientMeta, decode
    from ecgdash.errors import DecodeError
    from ecgdash.qrs import StreamingQRSDetector
    from ecgdash.qrs.config import DetectorConfig
    from ecgdash.qrs.state import StateError

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


# staged by COPY and merged: executemany of thousands of rows stalls the embedded server's
# pipeline handling, and COPY is the faster path everywhere
_STAGE = """
CREATE TEMP TABLE IF NOT EXISTS hr_stage (
    kind text, patient_id text, time timestamptz, sample_index bigint, rr_ms real, hr_bpm real,
    leads text, quality real, duration_s real, valid boolean, flags text) ON COMMIT DELETE ROWS"""
_STAGE_COPY = (
    "COPY hr_stage (kind, patient_id, time, sample_index, rr_ms, hr_bpm, leads, quality, "
    "duration_s, valid, flags) FROM STDIN (FORMAT BINARY)"
)
_MERGE_BEATS = """
INSERT INTO beats (patient_id, time, sample_index, rr_ms, hr_bpm, leads, quality)
SELECT patient_id, time, sample_index, rr_ms, hr_bpm, leads, quality FROM hr_stage
WHERE kind = 'beat' ON CONFLICT (patient_id, time) DO NOTHING"""
_MERGE_QUALITY = """
INSERT INTO signal_quality (patient_id, time, duration_s, valid, sqi, flags)
SELECT s.patient_id, s.time, s.duration_s, s.valid, s.quality, s.flags FROM hr_stage s
WHERE s.kind = 'quality' ON CONFLICT (patient_id, time) DO NOTHING"""
_LEDGER_INSERT = """
INSERT INTO writer_batches (query_id, batch_id, query_name, messages, chunks, samples,
                            duplicates_skipped, dead_lettered)
VALUES (%s, %s, %s, %s, %s, 0, 0, 0) ON CONFLICT (query_id, batch_id) DO NOTHING
RETURNING batch_id"""


def write_hr_batch(
    conn: psycopg.Connection, query: tuple[str, str], batch_id: int, rows: list[dict[str, Any]]
) -> bool:
    """Beats, quality windows and rollups of one batch, once; False if already committed."""
    from timescale.store import us_to_datetime

    beats = [r for r in rows if r["kind"] == "beat"]
    with conn.transaction():
        ledger = (query[0], batch_id, query[1], len(rows), len(beats))
        if conn.execute(_LEDGER_INSERT, ledger).fetchone() is None:
            return False
        fs_of: dict[str, float] = {}
        if rows:
            fs_rows = conn.execute(
                "SELECT patient_id, fs FROM patients WHERE patient_id = ANY(%s)",
                (sorted({r["patient_id"] for r in rows}),),
            ).fetchall()
            fs_of = {p: float(f) for p, f in fs_rows}
            conn.execute(_STAGE)
            with conn.cursor() as cur:
                with cur.copy(_STAGE_COPY) as copy:
                    copy.set_types(["text", "text", "timestamptz", "int8", "float4", "float4",
                                    "text", "float4", "float4", "bool", "text"])
                    for r in rows:
                        dur = (r["length"] / fs_of.get(r["patient_id"], 360.0)
                               if r["kind"] == "quality" else None)
                        copy.write_row((
                            r["kind"], r["patient_id"], us_to_datetime(r["time_us"]),
                            r["stream_index"], _num(r["rr_ms"]), _num(r["hr_bpm"]), r["leads"],
                            _num(r["quality"]), dur,
                            None if r["valid"] is None else bool(r["valid"]), r["flags"],
                        ))
                cur.execute(_MERGE_BEATS)
                cur.execute(_MERGE_QUALITY)
        if rows:
            times = [us_to_datetime(r["time_us"]) for r in rows]
            conn.execute("SELECT refresh_hr_rollups(%s, %s, %s)",
                         (sorted({r["patient_id"] for r in rows}), min(times), max(times)))
    return True


def _num(v: Any) -> float | None:
    return None if v is None or (isinstance(v, float) and np.isnan(v)) else float(v)


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
            write_hr_batch(self._conn, (qid, QUERY_NAME), batch_id, rows)
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
