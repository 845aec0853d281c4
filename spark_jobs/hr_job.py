"""The heart-rate job: beats and signal quality per patient, state carried across micro-batches.

A second query on the waveform topic, with its own checkpoint, trigger 60 s by default. Per
patient, ``applyInPandasWithState`` restores the streaming QRS detector (``ecgdash.core.qrs``) from
its serialised state, feeds the batch's chunks in signal order and keeps the new state, so a beat
on a batch boundary is found once. Beats and 1-s quality windows are written with the batch's
(query id, batch id) in one transaction, as the raw writer does.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import psycopg
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql.streaming import StreamingQuery
from pyspark.sql.streaming.state import GroupState, GroupStateTimeout

from ecgdash.core.codec import PatientMeta, SampleChunk, decode, samples_as_float
from ecgdash.core.errors import DecodeError
from ecgdash.core.kafka import PLAINTEXT, KafkaSecurity
from ecgdash.core.qrs import ChunkResult, DetectorConfig, StateError, StreamingQRSDetector
from ecgdash.spark_jobs.groups import in_offset_order, object_frame
from ecgdash.spark_jobs.session import Checkpoint, StreamSource, read_topic, start_query
from ecgdash.spark_jobs.sink import BatchSink
from ecgdash.spark_jobs.worker_gc import freeze_once
from ecgdash.timescale.heart_rate import write_hr_batch
from ecgdash.timescale.ledger import BatchKey

QUERY_NAME = "hr_job"
MAX_GAP_S = 10.0  # a longer gap in a patient's stream restarts its detector
OUTPUT_SCHEMA = (
    "kind string, patient_id string, stream_index long, time_us long, rr_ms double, "
    "hr_bpm double, leads string, quality double, length long, valid boolean, flags string"
)
STATE_SCHEMA = (
    "detector binary, base_index long, next_index long, start_us long, fs double, leads string"
)
_COLUMNS = [c.split()[0] for c in OUTPUT_SCHEMA.split(", ")]
_FLAG_NAMES = ((1, "gap"), (2, "flat"), (4, "saturated"), (8, "noisy"))
NOT_COMPUTED = "hr_not_computed"  # quality flag of a signal the detector cannot analyse
log = logging.getLogger(__name__)


def _flags_text(flags: tuple[int, ...]) -> str:
    """Problems set on every lead of the window ('' when one lead is clean), as Grafana reads it."""
    common = 0
    if flags:
        common = flags[0]
        for f in flags[1:]:
            common &= f
    return ",".join(name for bit, name in _FLAG_NAMES if common & bit)


def result_rows(patient: str, res: ChunkResult, base: int, start_us: int, fs: float, leads: str
                ) -> list[tuple]:
    """The detector's beats and quality windows as rows of OUTPUT_SCHEMA (``base``: the stream
    index of the detector's sample 0; ``leads``: the lead names, comma-separated)."""
    names = leads.split(",") if leads else []
    out: list[tuple] = []
    for b in res.beats:
        idx = base + b.index
        used = ",".join(names[i] if i < len(names) else str(i) for i in b.leads)
        out.append(("beat", patient, idx, start_us + round(idx * 1e6 / fs), b.rr_ms, b.hr_bpm,
                    used, b.quality, None, None, None))
    for w in res.windows:
        idx = base + w.start
        out.append(("quality", patient, idx, start_us + round(idx * 1e6 / fs), None, None,
                    None, w.quality, w.length, w.usable, _flags_text(w.flags)))
    return out


def detect_group(
    key: tuple[Any, ...], batches: Iterator[pd.DataFrame], state: GroupState
) -> Iterator[pd.DataFrame]:
    """One patient's messages of this batch (in offset order) -> beats and quality rows.

    Never raises for one message: a message that does not decode is skipped (the raw writer
    dead-letters it); a signal the detector cannot analyse (e.g. fs below its range) gets
    quality rows flagged ``hr_not_computed`` instead of beats; an unexpected detector error
    restarts that patient's detector and is logged.
    """
    freeze_once()
    patient = str(key[0])
    (values,) = in_offset_order(batches, "value")
    det = None
    base = nxt = start_us = 0
    fs = 0.0
    leads = ""
    if state.exists:
        blob, base, nxt, start_us, fs, leads = state.get
        try:
            det = StreamingQRSDetector.from_bytes(bytes(blob), DetectorConfig()) if blob else None
        except StateError as exc:  # another detector version or settings: learn afresh
            log.warning("patient %s: new detector (%s)", patient, exc)
            det = None
    out: list[tuple] = []
    run: list[np.ndarray] = []  # contiguous samples not yet given to the detector

    def flush() -> None:
        """One detector call per run of contiguous messages (the detector's output does not
        depend on how its input is cut; one call per 1-s message was most of its cost)."""
        nonlocal det
        if not run or det is None:
            run.clear()
            return
        x = run[0] if len(run) == 1 else np.vstack(run)
        run.clear()
        try:
            res = det.process(x)
        except Exception:  # a detector bug must not stop every patient: start this one afresh
            log.exception("patient %s: detector failed before sample %s; restarting it", patient, nxt)
            det = None
            return
        out.extend(result_rows(patient, res, base, start_us, fs, leads))

    for value in values:
        try:
            msg = decode(patient.encode(), value)
        except DecodeError:
            continue  # the raw writer dead-letters it
        if isinstance(msg, PatientMeta):
            flush()  # beats found so far name the leads they were found with
            leads = ",".join(s.lead for s in msg.signals)
            continue
        if not isinstance(msg, SampleChunk):
            continue  # expert annotations: the raw writer stores them
        n = msg.n_samples
        restart = det is None or msg.start_us != start_us or msg.fs != fs
        if not restart and msg.first_index > nxt + MAX_GAP_S * fs:
            restart = True
        if restart:
            flush()
            base = nxt = msg.first_index
            start_us, fs = msg.start_us, msg.fs
            try:
                det = StreamingQRSDetector(msg.fs, msg.n_leads)
            except ValueError as exc:  # a signal the detector does not support
                det = None
                log.warning("patient %s: heart rate not computed (%s)", patient, exc)
        if msg.first_index + n <= nxt:
            continue  # already seen (a duplicated message)
        if det is None:
            out.append(("quality", patient, msg.first_index, msg.time_us(), None, None, None, 0.0,
                        n, False, NOT_COMPUTED))
            nxt = msg.first_index + n
            continue
        x = samples_as_float(msg.samples)
        if msg.first_index < nxt:
            x = x[nxt - msg.first_index :]
        elif msg.first_index > nxt:  # a short gap: the detector flags it
            x = np.vstack([np.full((msg.first_index - nxt, msg.n_leads), np.nan), x])
        if run and x.shape[1] != run[0].shape[1]:
            flush()  # the detector refuses another lead count; it says so for this message
        run.append(x)
        nxt = msg.first_index + n
    flush()
    if det is not None or fs:
        state.update((det.to_bytes() if det is not None else b"", base, nxt, start_us, fs, leads))
    if out:  # nothing at all, rather than an untyped empty frame Spark has to concatenate
        yield object_frame(out, _COLUMNS)


@dataclass
class HrWriter(BatchSink):
    """The foreachBatch function of the heart-rate job (beats and quality rows)."""

    query_name = QUERY_NAME

    def write(self, conn: psycopg.Connection, key: BatchKey, rows: list[dict[str, Any]]) -> bool:
        return write_hr_batch(conn, key, rows)


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
    fail_on_data_loss: bool = True,
    exit_after_commit: int | None = None,
) -> tuple[StreamingQuery, HrWriter]:
    """Start the heart-rate query (trigger `trigger_s`, 5 s or more recommended)."""
    src = StreamSource(bootstrap, topic, source_format, starting_offsets, max_offsets_per_trigger,
                       security, fail_on_data_loss)
    beats = (
        read_topic(spark, src, QUERY_NAME)
        .where(F.col("key").isNotNull())
        .select(F.col("key").cast("string").alias("patient"), "value", "partition", "offset")
        .groupBy("patient")
        .applyInPandasWithState(detect_group, OUTPUT_SCHEMA, STATE_SCHEMA, "append",
                                GroupStateTimeout.NoTimeout)
    )
    writer = HrWriter(writer_dsn, checkpoint, exit_after_commit=exit_after_commit)
    query = start_query(beats, QUERY_NAME, writer, checkpoint, trigger_s, available_now)
    return query, writer
