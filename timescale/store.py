"""Write decoded micro-batches exactly once: rows and the batch id commit in one transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import psycopg

from ecgdash.codec import PatientMeta, SampleChunk
from ecgdash.errors import DatabaseError

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def us_to_datetime(us: int) -> datetime:
    """Epoch microseconds -> aware datetime, exactly (no float rounding)."""
    return EPOCH + timedelta(microseconds=us)


@dataclass(frozen=True)
class DeadLetter:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    reason: str

    @property
    def patient_key(self) -> str | None:
        if self.key is None:
            return None
        return self.key.decode(errors="replace")[:64]


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


_LEDGER_INSERT = """
INSERT INTO writer_batches (query_id, batch_id, query_name, messages, chunks, samples,
                            duplicates_skipped, dead_lettered)
VALUES (%s, %s, %s, %s, 0, 0, 0, 0)
ON CONFLICT (query_id, batch_id) DO NOTHING
RETURNING batch_id"""
_LEDGER_UPDATE = """
UPDATE writer_batches SET chunks = %s, samples = %s, duplicates_skipped = %s, dead_lettered = %s
WHERE query_id = %s AND batch_id = %s"""
_PATIENT_UPSERT = """
INSERT INTO patients (patient_id, source_record, fs, start_time, source_offset, n_source_samples)
VALUES (%s, %s, %s, %s, %s, %s)
ON CONFLICT (patient_id) DO UPDATE SET source_record = EXCLUDED.source_record,
    fs = EXCLUDED.fs, start_time = EXCLUDED.start_time, source_offset = EXCLUDED.source_offset,
    n_source_samples = EXCLUDED.n_source_samples"""
_SIGNAL_UPSERT = """
INSERT INTO signals (patient_id, signal_index, lead, fs, gain, baseline, adc_res, adc_zero, units)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (patient_id, signal_index) DO UPDATE SET lead = EXCLUDED.lead, fs = EXCLUDED.fs,
    gain = EXCLUDED.gain, baseline = EXCLUDED.baseline, adc_res = EXCLUDED.adc_res,
    adc_zero = EXCLUDED.adc_zero, units = EXCLUDED.units"""
_REGISTERED = """
SELECT patient_id, count(*), min(fs), max(fs) FROM signals
WHERE patient_id = ANY(%s) GROUP BY patient_id"""
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
_DEAD_INSERT = """
INSERT INTO dead_letters (query_id, batch_id, topic, kafka_partition, kafka_offset,
                          patient_key, reason)
VALUES (%s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (topic, kafka_partition, kafka_offset) DO NOTHING"""


def register(conn: psycopg.Connection, metas: Iterable[PatientMeta]) -> None:
    """Upsert patients and their signals (inside the caller's transaction)."""
    with conn.cursor() as cur:
        for m in metas:
            cur.execute(_PATIENT_UPSERT, (m.patient, m.record, m.fs, us_to_datetime(m.start_us),
                                          m.source_offset, m.n_source_samples))
            cur.executemany(_SIGNAL_UPSERT, [
                (m.patient, i, s.lead, m.fs, s.gain, s.baseline, s.adc_res, s.adc_zero, s.units)
                for i, s in enumerate(m.signals)
            ])


def _check_registered(
    conn: psycopg.Connection, chunks: Sequence[tuple[SampleChunk, DeadLetter]]
) -> tuple[list[SampleChunk], list[DeadLetter]]:
    """Split chunks into those of registered patients with matching leads, and dead letters."""
    patients = sorted({c.patient for c, _ in chunks})
    known = {
        row[0]: (int(row[1]), float(row[2]), float(row[3]))
        for row in conn.execute(_REGISTERED, (patients,)).fetchall()
    }
    good, dead = [], []
    for c, origin in chunks:
        reg = known.get(c.patient)
        reason = None
        if reg is None:
            reason = f"unknown patient {c.patient!r}: no signal metadata registered"
        elif reg[0] != c.n_leads:
            reason = f"patient {c.patient!r}: {c.n_leads} leads, {reg[0]} registered"
        elif not reg[1] == reg[2] == c.fs:
            reason = f"patient {c.patient!r}: fs {c.fs} Hz, registered {reg[1]} Hz"
        if reason:
            dead.append(DeadLetter(origin.topic, origin.partition, origin.offset, origin.key,
                                   origin.value, reason))
        else:
            good.append(c)
    return good, dead


def write_batch(
    conn: psycopg.Connection, query: tuple[str, str], batch_id: int, batch: Batch
) -> BatchResult | None:
    """Commit `batch` once; None when this batch id was already committed (a replay).

    `query` is (query id, query name): the id is Spark's, stable across restarts from one
    checkpoint, so (id, batch id) names a batch for good.
    """
    query_id, query_name = query
    try:
        with conn.transaction():
            first = conn.execute(_LEDGER_INSERT,
                                 (query_id, batch_id, query_name, batch.messages)).fetchone()
            if first is None:
                return None
            register(conn, batch.metas)
            good, unknown = _check_registered(conn, batch.chunks) if batch.chunks else ([], [])
            dead = batch.dead + unknown
            inserted = _copy_chunks(conn, good)
            samples = sum(c.samples.size for c in good)
            rows = sum(c.n_leads for c in good)
            with conn.cursor() as cur:
                cur.executemany(_DEAD_INSERT, [
                    (query_id, batch_id, d.topic, d.partition, d.offset, d.patient_key, d.reason)
                    for d in dead
                ])
            conn.execute(_LEDGER_UPDATE, (len(good), samples, rows - inserted, len(dead),
                                          query_id, batch_id))
    except psycopg.Error as exc:
        raise DatabaseError(f"batch {batch_id} of {query_name} ({query_id}) not written: {exc}") from exc
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
