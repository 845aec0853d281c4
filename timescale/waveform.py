"""Raw samples (``waveform``): the raw writer's exactly-once batch write, and the readers.

One row per patient, lead and ~1 s chunk, samples as ADC ``smallint[]`` with the chunk's extremes.
A micro-batch's rows, its dead letters, sample conflicts, data-loss gaps and its ledger row commit
in one transaction. Every message is stored or dead-lettered with a reason: registrations and
groups of chunks run in savepoints, and a group the database rejects is split in halves until
the rejected messages stand alone (dead-lettered with the database's reason), so one message the
decoder let through can never fail the batch for the others.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import psycopg
from psycopg import postgres, pq
from psycopg.adapt import Dumper

from ecgdash.core.clock import datetime_to_us, us_to_datetime
from ecgdash.core.codec import AnnotationBatch, PatientMeta, SampleChunk
from ecgdash.core.errors import DatabaseError
from ecgdash.timescale import annotations, dead_letters, ledger, patients
from ecgdash.timescale.dead_letters import DeadLetter
from ecgdash.timescale.ledger import BatchKey, Offsets

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Gap:
    """Offsets [from_offset, to_offset) of a partition that were gone when the query read on."""

    topic: str
    partition: int
    from_offset: int
    to_offset: int
    reason: str


@dataclass
class Batch:
    """A decoded micro-batch: registrations and sample chunks (each with the message it came
    from), the messages that failed to decode, gaps the source reported, and the offsets read."""

    metas: list[tuple[PatientMeta, DeadLetter]] = field(default_factory=list)
    chunks: list[tuple[SampleChunk, DeadLetter]] = field(default_factory=list)
    labels: list[tuple[AnnotationBatch, DeadLetter]] = field(default_factory=list)
    dead: list[DeadLetter] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    messages: int = 0
    offsets: Offsets | None = None  # partition -> (first, last) offset of the batch


@dataclass(frozen=True)
class BatchResult:
    chunks: int
    samples: int
    duplicates_skipped: int  # rows already stored with the same samples (a producer retry)
    dead: list[DeadLetter]
    conflicts: int = 0  # rows already stored with other samples (kept; the new one recorded)
    gaps: int = 0
    annotations: int = 0  # expert annotations newly stored


# no ON COMMIT DROP: the staging table is reused by every batch of the connection
_STAGE = """
CREATE TEMP TABLE IF NOT EXISTS waveform_stage
    (patient_id text, signal_index smallint, time timestamptz, sample_index bigint,
     samples smallint[], lo smallint, hi smallint, topic text, kafka_partition integer,
     kafka_offset bigint) ON COMMIT DELETE ROWS"""
_STAGE_CLEAR = "DELETE FROM waveform_stage"
_STAGE_COPY = (
    "COPY waveform_stage (patient_id, signal_index, time, sample_index, samples, lo, hi, topic, "
    "kafka_partition, kafka_offset) FROM STDIN (FORMAT BINARY)"
)
_STAGE_MERGE = """
INSERT INTO waveform (patient_id, signal_index, time, sample_index, samples, lo, hi)
SELECT patient_id, signal_index, time, sample_index, samples, lo, hi FROM waveform_stage
ON CONFLICT (patient_id, signal_index, time) DO NOTHING"""
# rows of this batch whose key was stored with other samples (before, or by an earlier message
# of the same batch): kept as stored, recorded here
_CONFLICTS = """
INSERT INTO sample_conflicts (topic, kafka_partition, kafka_offset, signal_index, patient_id,
                              time, query_id, batch_id)
SELECT s.topic, s.kafka_partition, s.kafka_offset, s.signal_index, s.patient_id, s.time, %s, %s
FROM waveform_stage s JOIN waveform w USING (patient_id, signal_index, time)
WHERE w.samples IS DISTINCT FROM s.samples
ON CONFLICT DO NOTHING"""
_GAP = """
INSERT INTO data_loss_gaps (query_id, batch_id, topic, kafka_partition, from_offset, to_offset,
                            reason)
VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING"""
# the database refused the data (22: data exception, 23: integrity): isolate and dead-letter;
# anything else (connection, timeout, serialisation) fails the batch, which is retried whole
_DATA_CLASSES = ("22", "23")


def _rejected(exc: psycopg.Error) -> bool:
    return bool(exc.sqlstate) and exc.sqlstate[:2] in _DATA_CLASSES


def _check_registered(
    conn: psycopg.Connection, chunks: Sequence[tuple[SampleChunk, DeadLetter]]
) -> tuple[list[tuple[SampleChunk, DeadLetter]], list[DeadLetter]]:
    """Split chunks into those of registered patients with matching leads, and dead letters
    (also the chunks of a stream whose registration was refused: stored, they would take the
    registered stream's calibration)."""
    ids = [c.patient for c, _ in chunks]
    known = patients.registrations(conn, ids)
    refused = patients.refused_streams(conn, ids)
    good, dead = [], []
    for c, origin in chunks:
        reg = known.get(c.patient)
        reason = None
        if reg is None:
            reason = f"unknown patient {c.patient!r}: no signal metadata registered"
        elif (c.patient, c.start_us) in refused:
            reason = f"its stream's registration was refused: {refused[(c.patient, c.start_us)]}"
        elif reg.n_leads != c.n_leads:
            reason = f"patient {c.patient!r}: {c.n_leads} leads, {reg.n_leads} registered"
        elif not reg.fs_min == reg.fs_max == c.fs:
            reason = f"patient {c.patient!r}: fs {c.fs} Hz, registered {reg.fs_min} Hz"
        if reason:
            dead.append(origin.with_reason(reason))
        else:
            good.append((c, origin))
    return good, dead


def write_batch(
    conn: psycopg.Connection, key: BatchKey, batch: Batch,
    before_commit: Callable[[list[DeadLetter]], None] | None = None,
) -> BatchResult | None:
    """Commit `batch` once; None when this batch id was already committed (a replay).

    `before_commit` receives all of the batch's dead letters inside the transaction, just before
    it commits (the raw writer publishes them to the dead-letter topic there: a crash before the
    commit publishes them again on replay, at least once; the table has each once).
    """
    try:
        with conn.transaction():
            if not ledger.claim(conn, key, batch.messages, batch.offsets):
                return None
            dead = list(batch.dead)
            refused = patients.register(conn, [m for m, _ in batch.metas])
            dead += [batch.metas[k][1].with_reason(r) for k, r in sorted(refused.items())]
            good, unknown = _check_registered(conn, batch.chunks) if batch.chunks else ([], [])
            dead += unknown
            stored, rejected, inserted, conflicts = _store_isolated(conn, key, good)
            dead += rejected
            _, labels, label_dead = annotations.store(conn, batch.labels)
            dead += label_dead
            kept = [c for c, _ in stored]
            samples = sum(c.samples.size for c in kept)
            rows = sum(c.n_leads for c in kept)
            dead_letters.insert(conn, key, dead)
            with conn.cursor() as cur:
                cur.executemany(_GAP, [(key.query_id, key.batch_id, g.topic, g.partition,
                                        g.from_offset, g.to_offset, g.reason) for g in batch.gaps])
            ledger.finish(conn, key, chunks=len(kept), samples=samples,
                          duplicates=rows - inserted - conflicts, dead=len(dead),
                          conflicts=conflicts)
            if before_commit is not None:
                before_commit(dead)
    except psycopg.Error as exc:
        raise DatabaseError(
            f"batch {key.batch_id} of {key.query_name} ({key.query_id}) not written: {exc}"
        ) from exc
    return BatchResult(len(kept), samples, rows - inserted - conflicts, dead, conflicts,
                       len(batch.gaps), labels)


def _store_isolated(
    conn: psycopg.Connection, key: BatchKey, chunks: list[tuple[SampleChunk, DeadLetter]]
) -> tuple[list[tuple[SampleChunk, DeadLetter]], list[DeadLetter], int, int]:
    """Store `chunks` (stored, dead, rows inserted, rows in conflict), each group in a savepoint;
    a group the database rejects is split in halves until each rejected chunk stands alone."""
    stored: list[tuple[SampleChunk, DeadLetter]] = []
    dead: list[DeadLetter] = []
    inserted = conflicts = 0
    pending = [chunks] if chunks else []
    while pending:
        group = pending.pop()
        try:
            with conn.transaction():
                ins, con = _copy_chunks(conn, key, group)
        except (psycopg.Error, ValueError, OverflowError) as exc:
            # ValueError/OverflowError: a row Python cannot even build (the decoder's checks
            # make it unreachable from Kafka; kept so a chunk made in code cannot fail a batch)
            if isinstance(exc, psycopg.Error) and not _rejected(exc):
                raise
            if len(group) == 1:
                detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                code = exc.sqlstate if isinstance(exc, psycopg.Error) else type(exc).__name__
                reason = f"rejected by the database ({code}): {detail}"
                log.warning("%s/%s@%s: %s", group[0][1].topic, group[0][1].partition,
                            group[0][1].offset, reason)
                dead.append(group[0][1].with_reason(reason))
            else:
                mid = len(group) // 2
                pending += [group[mid:], group[:mid]]
            continue
        stored += group
        inserted += ins
        conflicts += con
    return stored, dead, inserted, conflicts


_INT2_ARRAY_OID = postgres.types.get_oid("int2[]")
_ELEMENT = np.dtype([("len", ">i4"), ("value", ">i2")])


def int2_array_binary(x: np.ndarray) -> bytes:
    """A 1-D int16 array in PostgreSQL's binary array format (ndim, no nulls, element oid, size,
    lower bound 1, then length-prefixed big-endian values), built with numpy: psycopg's own
    list dumper converts each element in Python, ~8 % of the pipeline's Python CPU (py-spy at
    750 beds, issue 14)."""
    n = len(x)
    if n == 0:
        return struct.pack(">iiI", 0, 0, postgres.types["int2"].oid)
    body = np.empty(n, dtype=_ELEMENT)
    body["len"] = 2
    body["value"] = x
    return struct.pack(">iiIii", 1, 0, postgres.types["int2"].oid, n, 1) + body.tobytes()


class Int2ArrayDumper(Dumper):
    """COPY's dumper for int2[] columns: takes a numpy int16 row (see int2_array_binary)."""

    format = pq.Format.BINARY
    oid = _INT2_ARRAY_OID

    def dump(self, obj: np.ndarray) -> bytes:
        return int2_array_binary(obj)


def _copy_chunks(conn: psycopg.Connection, key: BatchKey,
                 chunks: Sequence[tuple[SampleChunk, DeadLetter]]) -> tuple[int, int]:
    """COPY chunk rows (one per lead) via the staging table and merge them; returns (rows newly
    inserted, rows whose key was stored with other samples)."""
    conn.execute(_STAGE)
    conn.execute(_STAGE_CLEAR)  # a rejected group's rows went with its savepoint; be sure
    rows = 0
    with conn.cursor() as cur:
        cur.adapters.register_dumper(None, Int2ArrayDumper)  # int2[] from numpy, this cursor only
        with cur.copy(_STAGE_COPY) as copy:
            copy.set_types(["text", "int2", "timestamptz", "int8", "int2[]", "int2", "int2", "text",
                            "int4", "int8"])
            for c, o in chunks:
                t = us_to_datetime(c.time_us())
                lo, hi = c.samples.min(axis=1).tolist(), c.samples.max(axis=1).tolist()
                for lead in range(c.n_leads):
                    copy.write_row((c.patient, lead, t, c.first_index, c.samples[lead],
                                    lo[lead], hi[lead], o.topic, o.partition, o.offset))
                    rows += 1
        cur.execute(_STAGE_MERGE)
        inserted = cur.rowcount
        conflicts = 0
        if inserted < rows:  # some keys were stored before: same samples, or a conflict
            cur.execute(_CONFLICTS, (key.query_id, key.batch_id))
            conflicts = cur.rowcount
        return inserted, conflicts


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


# --- dataset exports: chunks as binary arrays, parsed without a Python int per sample ----------

_CHUNKS_BINARY = """
SELECT signal_index, time, sample_index, array_send(samples) FROM waveform
WHERE patient_id = %s AND time >= %s AND time < %s
ORDER BY time, signal_index"""
_LAST_BEFORE = """
SELECT time, sample_index, cardinality(samples) FROM waveform
WHERE patient_id = %s AND time < %s AND time >= %s ORDER BY time DESC LIMIT 1"""


def chunk_rows(conn: psycopg.Connection, patient: str, t0: datetime, t1: datetime
               ) -> list[tuple[int, int, int, bytes]]:
    """(signal index, time µs, stream index, ``array_send(samples)``) of the chunks of `patient`
    starting in [t0, t1), in time then lead order."""
    with conn.cursor(binary=True) as cur:
        rows = cur.execute(_CHUNKS_BINARY, (patient, t0, t1)).fetchall()
    return [(int(s), datetime_to_us(t), int(i), bytes(b)) for s, t, i, b in rows]


def last_chunk_before(conn: psycopg.Connection, patient: str, t: datetime, not_before: datetime
                      ) -> ChunkRef | None:
    """The latest chunk starting in [not_before, t)."""
    row = conn.execute(_LAST_BEFORE, (patient, t, not_before)).fetchone()
    return ChunkRef(row[0], int(row[1]), int(row[2])) if row else None
