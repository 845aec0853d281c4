"""Raw samples (``waveform``): the raw writer's exactly-once batch write, and the readers.

One row per patient, lead and ~1 s chunk, samples as ADC ``smallint[]`` with the chunk's extremes.
A micro-batch's rows, its dead letters and its ledger row commit in one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import psycopg
from ecgdash.timescale import dead_letters, ledger, patients
from ecgdash.timescale.dead_letters import DeadLetter
from ecgdash.timescale.ledger import BatchKey

from ecgdash.core.clock import us_to_datetime
from ecgdash.core.codec import PatientMeta, SampleChunk
from ecgdash.core.errors import DatabaseError


@dataclass
class Batch:
    """A decoded micro-batch: registrations, sample chunks and the messages that failed."""

    metas: list[PatientMeta] = field(default_factory=list)
    chunks: list[tuple[SampleChunk, DeadLetter]] = field(default_factory=list)  # with its origin
    dead: list[DeadLetter] = field(default_factory=list)
    messages: int = 0


@dataclass(frozen=True)
class BatchResult:
    chunks: int
    samples: int
    duplicates_skipped: int
    dead: list[DeadLetter]


# no ON COMMIT DROP: the staging table is reused by every batch of the connection
_STAGE = """
CREATE TEMP TABLE IF NOT EXISTS waveform_stage
    (patient_id text, signal_index smallint, time timestamptz, sample_index bigint,
     samples smallint[], lo smallint, hi smallint) ON COMMIT DELETE ROWS"""
_STAGE_COPY = (
    "COPY waveform_stage (patient_id, signal_index, time, sample_index, samples, lo, hi) "
    "FROM STDIN (FORMAT BINARY)"
)
_STAGE_MERGE = """
INSERT INTO waveform (patient_id, signal_index, time, sample_index, samples, lo, hi)
SELECT patient_id, signal_index, time, sample_index, samples, lo, hi FROM waveform_stage
ON CONFLICT (patient_id, signal_index, time) DO NOTHING"""


def _check_registered(
    conn: psycopg.Connection, chunks: Sequence[tuple[SampleChunk, DeadLetter]]
) -> tuple[list[SampleChunk], list[DeadLetter]]:
    """Split chunks into those of registered patients with matching leads, and dead letters."""
    known = patients.registrations(conn, [c.patient for c, _ in chunks])
    good, dead = [], []
    for c, origin in chunks:
        reg = known.get(c.patient)
        reason = None
        if reg is None:
            reason = f"unknown patient {c.patient!r}: no signal metadata registered"
        elif reg.n_leads != c.n_leads:
            reason = f"patient {c.patient!r}: {c.n_leads} leads, {reg.n_leads} registered"
        elif not reg.fs_min == reg.fs_max == c.fs:
            reason = f"patient {c.patient!r}: fs {c.fs} Hz, registered {reg.fs_min} Hz"
        if reason:
            dead.append(origin.with_reason(reason))
        else:
            good.append(c)
    return good, dead


def write_batch(conn: psycopg.Connection, key: BatchKey, batch: Batch) -> BatchResult | None:
    """Commit `batch` once; None when this batch id was already committed (a replay)."""
    try:
        with conn.transaction():
            if not ledger.claim(conn, key, batch.messages):
                return None
            patients.register(conn, batch.metas)
            good, unknown = _check_registered(conn, batch.chunks) if batch.chunks else ([], [])
            dead = batch.dead + unknown
            inserted = _copy_chunks(conn, good)
            samples = sum(c.samples.size for c in good)
            rows = sum(c.n_leads for c in good)
            dead_letters.insert(conn, key, dead)
            ledger.finish(conn, key, chunks=len(good), samples=samples,
                          duplicates=rows - inserted, dead=len(dead))
    except psycopg.Error as exc:
        raise DatabaseError(
            f"batch {key.batch_id} of {key.query_name} ({key.query_id}) not written: {exc}"
        ) from exc
    return BatchResult(len(good), samples, rows - inserted, dead)


def _copy_chunks(conn: psycopg.Connection, chunks: Sequence[SampleChunk]) -> int:
    """COPY chunk rows (one per lead) via a staging table; returns rows newly inserted."""
    if not chunks:
        return 0
    conn.execute(_STAGE)
    with conn.cursor() as cur:
        with cur.copy(_STAGE_COPY) as copy:
            copy.set_types(["text", "int2", "timestamptz", "int8", "int2[]", "int2", "int2"])
            for c in chunks:
                t = us_to_datetime(c.time_us())
                lo, hi = c.samples.min(axis=1).tolist(), c.samples.max(axis=1).tolist()
                for lead in range(c.n_leads):
                    copy.write_row((c.patient, lead, t, c.first_index, c.samples[lead].tolist(),
                                    lo[lead], hi[lead]))
        cur.execute(_STAGE_MERGE)
        return cur.rowcount


# --- readers (as ecg_reader) ------------------------------------------------------------------

@dataclass(frozen=True)
class ChunkRef:
    """Where a stored chunk sits: its first sample's time and stream index, and its length."""

    time: datetime
    sample_index: int
    length: int


_PAGE = """
SELECT signal_index, time, samples FROM waveform
WHERE patient_id = %s AND time >= %s AND time < %s
ORDER BY time, signal_index"""
_AT_OR_BEFORE = """
SELECT time, sample_index, cardinality(samples) FROM waveform
WHERE patient_id = %s AND time <= %s AND time > %s ORDER BY time DESC LIMIT 1"""
_FIRST_AFTER = """
SELECT time, sample_index, cardinality(samples) FROM waveform
WHERE patient_id = %s AND time > %s AND time < %s ORDER BY time LIMIT 1"""
_SAMPLE_COUNT = """
SELECT coalesce(sum(cardinality(samples)), 0) FROM waveform
WHERE patient_id = ANY(%s) AND time >= %s"""
_NEWEST = "SELECT max(time) FROM waveform"
_WITH_SOURCE = """
SELECT w.patient_id, p.source_record, p.source_offset, w.signal_index, w.sample_index, w.samples,
       w.time, w.ingested_at, p.fs, p.start_time
FROM waveform w JOIN patients p USING (patient_id)
WHERE w.patient_id = %s AND w.time >= %s
ORDER BY w.patient_id, w.signal_index, w.sample_index"""


def page(conn: psycopg.Connection, patient: str, t0: datetime, t1: datetime
         ) -> list[tuple[int, datetime, list[int]]]:
    """(signal index, time, samples) of the chunks of `patient` starting in [t0, t1)."""
    return [(int(s), t, v) for s, t, v in conn.execute(_PAGE, (patient, t0, t1)).fetchall()]


def chunk_at_or_before(conn: psycopg.Connection, patient: str, t: datetime, not_before: datetime
                       ) -> ChunkRef | None:
    """The latest chunk starting in (not_before, t]."""
    row = conn.execute(_AT_OR_BEFORE, (patient, t, not_before)).fetchone()
    return ChunkRef(row[0], int(row[1]), int(row[2])) if row else None


def first_chunk_after(conn: psycopg.Connection, patient: str, t: datetime, before: datetime
                      ) -> ChunkRef | None:
    """The earliest chunk starting in (t, before)."""
    row = conn.execute(_FIRST_AFTER, (patient, t, before)).fetchone()
    return ChunkRef(row[0], int(row[1]), int(row[2])) if row else None


def sample_count(conn: psycopg.Connection, patient_ids: Sequence[str], since: datetime) -> int:
    """Samples (summed over leads) stored for `patient_ids` in chunks from `since` on."""
    row = conn.execute(_SAMPLE_COUNT, (list(patient_ids), since)).fetchone()
    return int(row[0]) if row else 0


def newest_time(conn: psycopg.Connection) -> datetime | None:
    """The time of the newest stored chunk of any patient."""
    row = conn.execute(_NEWEST).fetchone()
    return row[0] if row else None


def chunks_with_source(conn: psycopg.Connection, patient: str, since: datetime) -> list[tuple]:
    """Chunks of `patient` from `since`, with the source record and offset of its stream:
    (patient, record, offset, signal index, sample index, samples, time, ingested_at, fs,
    stream start), in signal and sample order."""
    return conn.execute(_WITH_SOURCE, (patient, since)).fetchall()
