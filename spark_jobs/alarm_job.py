"""The alarm job: a query of its own on the waveform topic, trigger 2 s, deciding alarms per patient.

Beats from the same detector (``beats=True``, ``ECG_ALARM_WRITES_BEATS``, the default of
``ecgdash spark pipeline``): the monitor's detector is the heart-rate job's, fed the same samples,
so the job can store the beats, RR, heart rate and quality windows it finds (the heart-rate job's
rows, bit-identical) with the transitions in one transaction, and the heart-rate job need not read,
decode and detect every patient a second time (issue 14: at 250 beds with every part running the
pipeline then kept up where the two queries did not, Spark's Python workers 0.80 -> 0.72 cores;
most of a stateful query's cost is per patient and batch, not the detector). Beats then arrive
every alarm trigger (2 s) instead of every heart-rate trigger. With ``ECG_ALARM_WRITES_BEATS=false`` the
heart-rate job runs beside it as before (a longer trigger, a failure of one not silencing the other).

Per patient, the job restores a :class:`~ecgdash.core.alarms.PatientMonitor`
(detector + alarm engine, on the signal clock), feeds the batch's chunks in offset order and
emits the alarm transitions, which the sink writes with the batch's (query id, batch id) in one
transaction (``ecgdash.timescale.alarms``). Signal loss is decided on the *arrival* clock: the
Kafka timestamps, whose watermark (the newest arrival in the stream) fires an event-time timeout
for a patient that sent nothing for ``signal_loss_s``. Spark's state and timeouts are per *group*
of patients (``ECG_ALARM_GROUPS``, see :class:`MonitorGroups`), each group timing out at its
patients' earliest due check. Both clocks are in the data, so a replayed
batch decides exactly what the first run decided. Limits come from ``alarm_limits``, read by each
Python worker at most every ``limits_ttl_s``.
"""

from __future__ import annotations

import logging
import struct
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import psycopg
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql.streaming import StreamingQuery
from pyspark.sql.streaming.state import GroupState, GroupStateTimeout

from ecgdash.core.alarms import AlarmConfig, Limits, PatientMonitor, Transition
from ecgdash.core.codec import PatientMeta, SampleChunk, decode
from ecgdash.core.kafka import PLAINTEXT, KafkaSecurity
from ecgdash.core.qrs import StateError
from ecgdash.spark_jobs.groups import by_patient, in_offset_order, object_frame
from ecgdash.spark_jobs.hr_job import NOT_COMPUTED, result_rows
from ecgdash.spark_jobs.session import Checkpoint, StreamSource, read_topic, start_query
from ecgdash.spark_jobs.sink import BatchSink
from ecgdash.spark_jobs.worker_gc import freeze_once
from ecgdash.timescale.alarms import limits_for, load_limits, write_alarm_batch
from ecgdash.timescale.ledger import BatchKey

QUERY_NAME = "alarm_job"
# one row per alarm transition (row = 'alarm') and, when the job writes beats, per beat and
# quality window (row = 'beat' / 'quality', the heart-rate job's columns; kind etc. null)
ALARM_COLUMNS = (
    "patient_id string, kind string, priority string, action string, onset_us long, at_us long, "
    "value double, message string"
)
BEAT_COLUMNS = (
    "stream_index long, time_us long, rr_ms double, hr_bpm double, leads string, quality double, "
    "length long, valid boolean, flags string"
)
OUTPUT_SCHEMA = f"row string, {ALARM_COLUMNS}, {BEAT_COLUMNS}"
_COLUMNS = [c.split()[0] for c in OUTPUT_SCHEMA.split(", ")]
_N_BEAT = len(BEAT_COLUMNS.split(", "))
_N_ALARM = len(ALARM_COLUMNS.split(", "))
# a group's patients packed into one binary (pyspark 4.3 cannot read back an array-typed state)
STATE_SCHEMA = "groups int, held binary"
_NO_DUE = -(2**63)
# how late an arrival may be behind the newest one before Spark drops it (watermark delay); the
# signal-loss timeout is set relative to it, so it does not delay the alarm
LATE_ARRIVAL = "10 minutes"
_LATE_MS = 10 * 60 * 1000
_log = logging.getLogger(__name__)


@dataclass
class _LimitsCache:
    """``alarm_limits`` as one Python worker last read it."""

    table: dict[str, Limits] = field(default_factory=dict)
    read_at: float = float("-inf")


_CACHE = _LimitsCache()  # one per Python worker process (reused across batches)
# live monitors by patient, with the state blob they were last saved as: when Spark hands back
# that very blob, the monitor is reused instead of decoded (restoring a detector designs its
# filters again: ~5-15 ms a patient, most of a 2-s batch's work). Any other blob (a replayed
# batch, another worker's) is decoded as usual.
_LIVE: dict[str, tuple[bytes, PatientMonitor]] = {}
_LIVE_MAX = 5000


@dataclass(frozen=True)
class MonitorGroups:
    """The stateful function (pickled to the workers): DSN to read limits, engine settings.

    Spark calls it once per *group* of patients (``groups`` of them, patients hashed to one by
    their key), not once per patient: pyspark's applyInPandasWithState spends a few ms per call
    converting a group's rows and state between Arrow and pandas, several times what a patient's
    detector and alarm engine cost for 2 s of ECG (issue 14). A group's state holds one monitor
    blob per patient and the arrival-clock time each one's signal-loss check is due; the group's
    event-time timeout is the earliest of them, so a patient is judged silent no later than when
    it was a group of its own (earlier when its group's other patients' arrivals show the time
    has passed).
    """

    dsn: str = field(repr=False)
    config: AlarmConfig = AlarmConfig()
    limits_ttl_s: float = 5.0
    beats: bool = False  # also emit the detector's beats and quality windows
    groups: int = 32  # how many groups the patients are hashed to (fixed per checkpoint)

    def limits(self, patient: str) -> Limits:
        now = time.monotonic()
        if now - _CACHE.read_at > self.limits_ttl_s:
            try:
                with psycopg.connect(self.dsn, prepare_threshold=None, connect_timeout=5) as conn:
                    _CACHE.table = load_limits(conn)
            except psycopg.Error as exc:  # keep the last limits (or the defaults) and go on
                _log.warning("alarm limits not read, keeping the last ones: %s", exc)
            _CACHE.read_at = now
        return limits_for(_CACHE.table, patient)

    def _held(self, key: tuple[Any, ...], state: GroupState) -> dict[str, tuple[bytes, int | None]]:
        """The group's patients: monitor blob and when (watermark ms) their silence is due."""
        if not state.exists:
            return {}
        groups, packed = state.get
        try:
            held = unpack_held(bytes(packed))
        except (StateError, struct.error, UnicodeDecodeError) as exc:
            _log.warning("alarm group %s: monitors restart (%r)", key[0], exc)
            return {}
        if groups != self.groups:  # ECG_ALARM_GROUPS changed: these patients now hash elsewhere
            _log.warning("alarm group %s: %d monitors dropped (groups %s -> %s)", key[0],
                         len(held), groups, self.groups)
            return {}
        return held

    def _monitor(self, patient: str, blob: bytes | None) -> PatientMonitor | None:
        """The patient's monitor as ``blob`` saved it (the live object when it is that blob)."""
        if blob is None:
            return None
        live = _LIVE.pop(patient, None)  # from here on the object changes: only blobs are valid
        if live is not None and live[0] == blob:
            return live[1]
        try:
            return PatientMonitor.from_bytes(blob, self.config)
        except StateError as exc:
            _log.warning("patient %s: new alarm monitor (%s)", patient, exc)
            return None

    def _due(self, mon: PatientMonitor) -> int | None:
        """Watermark (ms) past which this patient's silence is next judged: when the newest
        arrival is signal_loss_s past its own (expire_s once signal loss is raised)."""
        if mon.last_arrival_ms is None:
            return None
        wait = self.config.expire_s if mon.silent else self.config.signal_loss_s
        return mon.last_arrival_ms + round(wait * 1000) - _LATE_MS

    def __call__(self, key: tuple[Any, ...], batches: Iterator[pd.DataFrame], state: GroupState
                 ) -> Iterator[pd.DataFrame]:
        freeze_once()
        held = self._held(key, state)
        watermark = state.getCurrentWatermarkMs()
        # the arrival clock: the newest arrival of earlier batches (the watermark's) or of this
        # group's rows in this one, so a silent patient is judged as soon as its group's other
        # patients show the time has passed, a batch before the watermark would (both are in
        # the offset log: a replayed batch judges the same)
        newest = watermark + _LATE_MS
        out: list[tuple] = []  # output rows, patient by patient
        fed: set[str] = set()
        if not state.hasTimedOut:
            patients, values, arrived = in_offset_order(batches, "patient", "value", "timestamp")
            if len(arrived):
                newest = max(newest, int(arrived.max()))
            for patient, idx in by_patient(patients):
                blob = held.get(patient, (None, None))[0]
                mon = self._monitor(patient, blob) or PatientMonitor(self.config)
                found: list[tuple] = []
                trans = self._feed(mon, patient, values[idx], arrived[idx],
                                   found if self.beats else None)
                out += _rows(patient, trans, found)
                held[patient] = self._save(patient, mon)
                fed.add(patient)
        for patient in sorted(held.keys() - fed):
            blob, due = held[patient]
            if due is None or due + _LATE_MS >= newest:
                continue  # Spark's rule for a timeout: the clock passed it
            mon = self._monitor(patient, blob) or PatientMonitor(self.config)
            ward_ms = newest
            silent_s = (ward_ms - (mon.last_arrival_ms or ward_ms)) / 1000
            if silent_s >= self.config.expire_s:
                out += _rows(patient, mon.expire(ward_ms), [])
                del held[patient]
                continue
            out += _rows(patient, mon.silence(ward_ms), [])
            held[patient] = self._save(patient, mon)
        if held:
            state.update((self.groups, pack_held(held)))
            due = [d for _, d in held.values() if d is not None]
            if due:
                state.setTimeoutTimestamp(max(min(due), watermark + 1))
        else:
            state.remove()
        if out:  # nothing at all, rather than an untyped empty frame
            yield object_frame(out, _COLUMNS)

    def _save(self, patient: str, mon: PatientMonitor) -> tuple[bytes, int | None]:
        blob = mon.to_bytes()
        if len(_LIVE) >= _LIVE_MAX:
            _LIVE.clear()
        _LIVE[patient] = (blob, mon)
        return blob, self._due(mon)

    def _feed(self, mon: PatientMonitor, patient: str, values: np.ndarray, arrived: np.ndarray,
              rows: list[tuple] | None) -> list[Transition]:
        """Decode the patient's messages of the batch and feed them, runs of contiguous chunks
        of one stream as one call (the detector's cost is mostly per call); with ``rows``, add
        the detector's beats and quality windows to it as the heart-rate job's rows."""
        limits = self.limits(patient)
        out: list[Transition] = []
        run: list[Any] = []  # contiguous SampleChunks

        def flush() -> None:
            if not run:
                return
            first = run[0]
            samples = np.concatenate([np.asarray(m.samples) for m in run], axis=1)
            found: list[tuple[int, Any]] | None = [] if rows is not None else None
            try:
                out.extend(mon.feed(first.first_index, first.start_us, first.fs, samples, limits,
                                    max(a for a in arrivals), found))
            except Exception as exc:  # noqa: BLE001 - bad input never fails the batch
                # e.g. a rate the detector does not support: the next chunk starts afresh
                _log.warning("patient %s: chunks not analysed by the alarm job: %r", patient, exc)
                mon.det = None
                if rows is not None:  # the heart-rate job's row for a signal it cannot analyse
                    rows.extend(("quality", patient, m.first_index, m.time_us(), None, None, None,
                                 0.0, m.n_samples, False, NOT_COMPUTED) for m in run)
            else:
                if rows is not None and found:
                    leads = ",".join(mon.leads)
                    for base, res in found:
                        rows.extend(result_rows(patient, res, base, mon.start_us, mon.fs, leads))
            run.clear()
            arrivals.clear()

        arrivals: list[int] = []
        for value, ts in zip(values, arrived.tolist(), strict=True):
            try:
                msg = decode(patient.encode(), value)
            except Exception as exc:  # noqa: BLE001 - the raw writer dead-letters it
                _log.warning("patient %s: message skipped by the alarm job: %r", patient, exc)
                continue
            if isinstance(msg, PatientMeta):
                flush()
                mon.set_leads(tuple(s.lead for s in msg.signals), tuple(s.gain for s in msg.signals))
                continue
            if not isinstance(msg, SampleChunk):
                continue  # expert annotations: the raw writer stores them
            prev = run[-1] if run else None
            if prev is not None and not (
                    msg.start_us == prev.start_us and msg.fs == prev.fs
                    and msg.n_leads == prev.n_leads
                    and msg.first_index == prev.first_index + prev.n_samples):
                flush()
            run.append(msg)
            arrivals.append(ts)
        flush()
        return out


def pack_held(held: dict[str, tuple[bytes, int | None]]) -> bytes:
    """A group's patients (name -> monitor blob, due ms or None) as one binary, names sorted."""
    parts = [struct.pack("<I", len(held))]
    for name in sorted(held):
        blob, due = held[name]
        raw = name.encode()
        parts += [struct.pack("<HqI", len(raw), _NO_DUE if due is None else due, len(blob)),
                  raw, blob]
    return b"".join(parts)


def unpack_held(packed: bytes) -> dict[str, tuple[bytes, int | None]]:
    """The inverse of :func:`pack_held`."""
    (n,) = struct.unpack_from("<I", packed)
    pos, out = 4, {}
    head = struct.Struct("<HqI")
    for _ in range(n):
        n_name, due, n_blob = head.unpack_from(packed, pos)
        pos += head.size
        name = packed[pos:pos + n_name].decode()
        pos += n_name
        out[name] = (packed[pos:pos + n_blob], None if due == _NO_DUE else due)
        pos += n_blob
    if pos != len(packed):
        raise StateError(f"alarm group state: {len(packed) - pos} bytes after {n} monitors")
    return out


def _rows(patient: str, out: list[Transition], found: list[tuple]) -> list[tuple]:
    """Transitions (in order) and the heart-rate job's rows (``found``: kind first) as rows."""
    no_beat, no_alarm = (None,) * _N_BEAT, (None,) * (_N_ALARM - 1)
    return ([("alarm", patient, t.kind, t.priority, t.action, t.onset_us, t.at_us, t.value,
              t.message, *no_beat) for t in out]
            + [(r[0], patient, *no_alarm, *r[2:]) for r in found])


@dataclass
class AlarmWriter(BatchSink):
    """The foreachBatch function of the alarm job: transitions, and beats when it writes them."""

    query_name = QUERY_NAME

    def write(self, conn: psycopg.Connection, key: BatchKey, rows: list[dict[str, Any]]) -> bool:
        alarms = [r for r in rows if r["row"] == "alarm"]
        beats = [{**r, "kind": r["row"]} for r in rows if r["row"] != "alarm"]
        return write_alarm_batch(conn, key, alarms, beats)


def start_alarm_job(
    spark: SparkSession,
    *,
    bootstrap: str,
    topic: str,
    writer_dsn: str,
    checkpoint: Checkpoint,
    trigger_s: float = 2.0,
    source_format: str = "ecgkafka",
    available_now: bool = False,
    max_offsets_per_trigger: int | None = None,
    starting_offsets: str = "earliest",
    security: KafkaSecurity = PLAINTEXT,
    config: AlarmConfig | None = None,
    fail_on_data_loss: bool = True,
    exit_after_commit: int | None = None,
    beats: bool = False,
    groups: int = 32,
) -> tuple[StreamingQuery, AlarmWriter]:
    """Start the alarm query (trigger ``trigger_s``, 2 s by default); with ``beats``, it also
    stores the beats and quality windows its detector finds, as the heart-rate job would."""
    src = StreamSource(bootstrap, topic, source_format, starting_offsets, max_offsets_per_trigger,
                       security, fail_on_data_loss)
    transitions = (
        read_topic(spark, src, QUERY_NAME)
        .where(F.col("key").isNotNull())
        .withWatermark("timestamp", LATE_ARRIVAL)
        .select(F.col("key").cast("string").alias("patient"), "value", "partition", "offset",
                "timestamp")
        .withColumn("group", F.pmod(F.xxhash64("patient"), F.lit(groups)))
        .groupBy("group")
        .applyInPandasWithState(MonitorGroups(writer_dsn, config or AlarmConfig(), beats=beats,
                                              groups=groups),
                                OUTPUT_SCHEMA,
                                STATE_SCHEMA, "append", GroupStateTimeout.EventTimeTimeout)
    )
    writer = AlarmWriter(writer_dsn, checkpoint, exit_after_commit=exit_after_commit)
    query = start_query(transitions, QUERY_NAME, writer, checkpoint, trigger_s, available_now)
    return query, writer
