"""Expert annotations (``annotations``): the raw writer's exactly-once store, and the readers.

The record's reference labels (WFDB ``.atr``: beat symbols, rhythm changes in ``aux_note``)
arrive as their own message kind right after the samples they label and are stored in the
samples' transaction (the raw writer's ledger), keyed by the whole label, so a replayed batch or
a producer retry stores each label once. Times are the samples' signal clock:
``start + index / fs`` rounded to the microsecond, as for the chunks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import psycopg

from ecgdash.core.clock import us_to_datetime
from ecgdash.core.codec import AnnotationBatch
from ecgdash.timescale import patients
from ecgdash.timescale.dead_letters import DeadLetter

_STAGE = """
CREATE TEMP TABLE IF NOT EXISTS annotations_stage
    (patient_id text, time timestamptz, sample_index bigint, source text, symbol text,
     subtype smallint, chan smallint, num smallint, aux_note text) ON COMMIT DELETE ROWS"""
_STAGE_CLEAR = "DELETE FROM annotations_stage"
_STAGE_COPY = (
    "COPY annotations_stage (patient_id, time, sample_index, source, symbol, subtype, chan, num, "
    "aux_note) FROM STDIN (FORMAT BINARY)"
)
_MERGE = """
INSERT INTO annotations (patient_id, time, sample_index, source, symbol, subtype, chan, num,
                         aux_note)
SELECT patient_id, time, sample_index, source, symbol, subtype, chan, num, aux_note
FROM annotations_stage ON CONFLICT DO NOTHING"""
_DATA_CLASSES = ("22", "23")  # the database refused the data: isolate and dead-letter


def store(conn: psycopg.Connection, batches: Sequence[tuple[AnnotationBatch, DeadLetter]]
          ) -> tuple[int, int, list[DeadLetter]]:
    """Store `batches` in the caller's transaction: (messages stored, labels newly inserted,
    dead letters). Labels of an unregistered patient, or of another sampling rate than the
    registered one, are dead-lettered; a group the database rejects is split until the rejected
    message stands alone (as the samples are)."""
    if not batches:
        return 0, 0, []
    known = patients.registrations(conn, [b.patient for b, _ in batches])
    good, dead = [], []
    for b, origin in batches:
        reg = known.get(b.patient)
        if reg is None:
            dead.append(origin.with_reason(f"annotations of unknown patient {b.patient!r}: no "
                                           "signal metadata registered"))
        elif not reg.fs_min == reg.fs_max == b.fs:
            dead.append(origin.with_reason(f"annotations of patient {b.patient!r} at fs {b.fs} Hz, "
                                           f"registered {reg.fs_min} Hz"))
        else:
            good.append((b, origin))
    stored = inserted = 0
    pending = [good] if good else []
    while pending:
        group = pending.pop()
        try:
            with conn.transaction():
                inserted += _copy(conn, [b for b, _ in group])
        except psycopg.Error as exc:
            if not (exc.sqlstate and exc.sqlstate[:2] in _DATA_CLASSES):
                raise
            if len(group) == 1:
                detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                dead.append(group[0][1].with_reason(
                    f"rejected by the database ({exc.sqlstate}): {detail}"))
            else:
                mid = len(group) // 2
                pending += [group[mid:], group[:mid]]
            continue
        stored += len(group)
    return stored, inserted, dead


def _copy(conn: psycopg.Connection, batches: Sequence[AnnotationBatch]) -> int:
    conn.execute(_STAGE)
    conn.execute(_STAGE_CLEAR)
    with conn.cursor() as cur:
        with cur.copy(_STAGE_COPY) as copy:
            copy.set_types(["text", "timestamptz", "int8", "text", "text", "int2", "int2", "int2",
                            "text"])
            for b in batches:
                for a in b.annotations:
                    copy.write_row((b.patient, us_to_datetime(b.time_us(a.index)), a.index,
                                    b.source, a.symbol, a.subtype, a.chan, a.num, a.aux_note))
        cur.execute(_MERGE)
        return cur.rowcount


# --- readers (as ecg_reader) ------------------------------------------------------------------

@dataclass(frozen=True)
class StoredAnnotation:
    time: datetime
    sample_index: int
    source: str
    symbol: str
    subtype: int
    chan: int
    num: int
    aux_note: str


_BETWEEN = """
SELECT time, sample_index, source, symbol, subtype, chan, num, aux_note FROM annotations
WHERE patient_id = %s AND time >= %s AND time < %s ORDER BY time, chan, num, symbol"""
# the rhythm in force at an instant: the newest rhythm change ('+', aux_note '(N', '(AFIB', ...)
_RHYTHM_AT = """
SELECT aux_note FROM annotations
WHERE patient_id = %s AND symbol = '+' AND time < %s AND time >= %s ORDER BY time DESC LIMIT 1"""
_COUNT = "SELECT count(*) FROM annotations WHERE patient_id = %s AND time >= %s AND time < %s"


def between(conn: psycopg.Connection, patient: str, t0: datetime, t1: datetime
            ) -> list[StoredAnnotation]:
    """Annotations of `patient` in [t0, t1), in time order."""
    return [StoredAnnotation(r[0], int(r[1]), r[2], r[3], int(r[4]), int(r[5]), int(r[6]), r[7])
            for r in conn.execute(_BETWEEN, (patient, t0, t1)).fetchall()]


def rhythm_at(conn: psycopg.Connection, patient: str, t: datetime, not_before: datetime) -> str:
    """The rhythm label in force just before `t` (its newest change in [not_before, t)), or ''."""
    row = conn.execute(_RHYTHM_AT, (patient, t, not_before)).fetchone()
    return str(row[0]) if row else ""


def count(conn: psycopg.Connection, patient: str, t0: datetime, t1: datetime) -> int:
    row = conn.execute(_COUNT, (patient, t0, t1)).fetchone()
    return int(row[0]) if row else 0
