"""Beats and signal quality (``beats``, ``signal_quality``, rollups ``hr_1m``/``hr_1h``).

The heart-rate job's exactly-once write (rows and the ledger row in one transaction, rollups
refreshed in the same transaction in PostgreSQL mode) and the readers of beats.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

from ecgdash.core.clock import us_to_datetime
from ecgdash.core.errors import DatabaseError
from ecgdash.timescale import ledger, patients
from ecgdash.timescale.ledger import BatchKey

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
_REFRESH = "SELECT refresh_hr_rollups(%s, %s, %s)"
DEFAULT_FS = 360.0  # Hz, for a quality window of a patient not (yet) registered


def write_hr_batch(conn: psycopg.Connection, key: BatchKey, rows: Sequence[Mapping[str, Any]]) -> bool:
    """Beats, quality windows and rollups of one batch, once; False if already committed.

    Each row is the heart-rate job's output: ``kind`` ('beat' or 'quality'), ``patient_id``,
    ``stream_index``, ``time_us`` (signal clock), ``rr_ms``, ``hr_bpm``, ``leads``, ``quality``,
    ``length`` (samples, quality windows), ``valid``, ``flags``.
    """
    try:
        with conn.transaction():
            if not ledger.claim(conn, key, len(rows)):
                return False
            beats = write_hr_rows(conn, rows)
            ledger.finish(conn, key, chunks=beats)
    except psycopg.Error as exc:
        raise DatabaseError(
            f"batch {key.batch_id} of {key.query_name} ({key.query_id}) not written: {exc}"
        ) from exc
    return True


def write_hr_rows(conn: psycopg.Connection, rows: Sequence[Mapping[str, Any]]) -> int:
    """Beats and quality windows (rows as :func:`write_hr_batch` takes them) and their rollups,
    in the caller's transaction, which holds the batch's ledger claim; returns the beats."""
    if not rows:
        return 0
    ids = sorted({r["patient_id"] for r in rows})
    fs_of = patients.sampling_rates(conn, ids)
    conn.execute(_STAGE)
    with conn.cursor() as cur:
        with cur.copy(_STAGE_COPY) as copy:
            copy.set_types(["text", "text", "timestamptz", "int8", "float4", "float4",
                            "text", "float4", "float4", "bool", "text"])
            for r in rows:
                dur = (r["length"] / fs_of.get(r["patient_id"], DEFAULT_FS)
                       if r["kind"] == "quality" else None)
                copy.write_row((
                    r["kind"], r["patient_id"], us_to_datetime(r["time_us"]),
                    r["stream_index"], _num(r["rr_ms"]), _num(r["hr_bpm"]),
                    r["leads"], _num(r["quality"]), dur,
                    None if r["valid"] is None else bool(r["valid"]), r["flags"],
                ))
        cur.execute(_MERGE_BEATS)
        cur.execute(_MERGE_QUALITY)
    times = [us_to_datetime(r["time_us"]) for r in rows]
    conn.execute(_REFRESH, (ids, min(times), max(times)))
    return sum(1 for r in rows if r["kind"] == "beat")


def _num(v: Any) -> float | None:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)


# --- readers (as ecg_reader) ------------------------------------------------------------------

@dataclass(frozen=True)
class StoredBeat:
    sample_index: int
    time: datetime
    rr_ms: float | None
    hr_bpm: float | None
    leads: str
    quality: float


_BEATS = """
SELECT sample_index, time, rr_ms, hr_bpm, leads, quality FROM beats
WHERE patient_id = %s AND time >= %s AND time < %s ORDER BY time"""
_SPAN = """
SELECT count(*), min(sample_index), max(sample_index) FROM beats
WHERE patient_id = %s AND time >= %s AND time < %s"""


def beats_between(conn: psycopg.Connection, patient: str, t0: datetime, t1: datetime) -> list[StoredBeat]:
    """Beats of `patient` with R peaks in [t0, t1), in time order."""
    return [StoredBeat(int(r[0]), r[1], r[2], r[3], r[4], float(r[5]))
            for r in conn.execute(_BEATS, (patient, t0, t1)).fetchall()]


def beat_span(conn: psycopg.Connection, patient: str, t0: datetime, t1: datetime
              ) -> tuple[int, int | None, int | None]:
    """(number of beats, first and last stream sample index) of `patient` in [t0, t1)."""
    row = conn.execute(_SPAN, (patient, t0, t1)).fetchone()
    if row is None:
        return 0, None, None
    return int(row[0]), row[1], row[2]


@dataclass(frozen=True)
class QualityWindow:
    time: datetime  # window start (signal clock)
    duration_s: float
    valid: bool
    sqi: float
    flags: str


_QUALITY = """
SELECT time, duration_s, valid, sqi, flags FROM signal_quality
WHERE patient_id = %s AND time >= %s AND time < %s ORDER BY time"""


def quality_between(conn: psycopg.Connection, patient: str, t0: datetime, t1: datetime
                    ) -> list[QualityWindow]:
    """Signal-quality windows of `patient` starting in [t0, t1), in time order."""
    return [QualityWindow(r[0], float(r[1]), bool(r[2]), float(r[3]), r[4])
            for r in conn.execute(_QUALITY, (patient, t0, t1)).fetchall()]
