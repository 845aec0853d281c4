"""The raw writer's database write, on both modes: exactly once by ledger (with offsets), every
message stored or dead-lettered, conflicts apart from duplicates, registrations never rewritten.

Each test uses its own query id and patients, so the shared session databases need no cleanup.
"""

from __future__ import annotations

import uuid

import numpy as np
import psycopg
import pytest

from ecgdash.core.codec import PatientMeta, SampleChunk, SignalMeta
from ecgdash.core.errors import DatabaseError, ReplayMismatch
from ecgdash.timescale.dead_letters import DeadLetter
from ecgdash.timescale.ledger import BatchKey
from ecgdash.timescale.waveform import Batch, Gap, write_batch
from tests.helpers import Db

pytestmark = pytest.mark.integration
START_US = 1_714_000_000_000_000  # 2024-04-24
SIGNALS = (SignalMeta("MLII", 200.0, 1024, 11, 1024), SignalMeta("V1", 200.0, 1024, 11, 1024))


def meta(patient: str, gain: float = 200.0) -> PatientMeta:
    sig = (SignalMeta("MLII", gain, 1024, 11, 1024), SIGNALS[1])
    return PatientMeta(patient, "101", 360.0, START_US, 0, 650_000, sig)


def chunk(patient: str, first: int, seed: int = 0) -> SampleChunk:
    rng = np.random.default_rng(first + seed)
    return SampleChunk(patient, 360.0, START_US, first, rng.integers(-500, 500, (2, 360), np.int16))


def origin(offset: int, key: str = "p") -> DeadLetter:
    return DeadLetter("ecg.test", 0, offset, key.encode(), b"v")


def batch(patient: str, chunks: list[SampleChunk], with_meta: bool = True, first_offset: int = 0) -> Batch:
    b = Batch(messages=len(chunks) + int(with_meta))
    off = first_offset
    if with_meta:
        b.metas.append((meta(patient), origin(off, patient)))
        off += 1
    for c in chunks:
        b.chunks.append((c, origin(off, patient)))
        off += 1
    b.offsets = {0: (first_offset, off - 1)}
    return b


def key() -> BatchKey:
    return BatchKey(f"q-{uuid.uuid4().hex[:10]}", "raw_writer", 0)


def stored(db: Db, patient: str) -> dict[tuple[int, int], list[int]]:
    with psycopg.connect(db.reader) as conn:
        rows = conn.execute("SELECT signal_index, sample_index, samples FROM waveform "
                            "WHERE patient_id = %s", (patient,)).fetchall()
    return {(s, i): list(v) for s, i, v in rows}


def test_replayed_batch_is_skipped_and_stores_nothing_twice(db: Db) -> None:
    p, k = f"once-{uuid.uuid4().hex[:8]}", key()
    b = batch(p, [chunk(p, 0), chunk(p, 360)])
    with psycopg.connect(db.writer) as conn:
        first = write_batch(conn, k, b)
        assert first is not None and first.chunks == 2 and first.duplicates_skipped == 0
        assert write_batch(conn, k, b) is None  # the same batch id: a replay
    assert len(stored(db, p)) == 4


def test_replay_with_other_offsets_is_an_error(db: Db) -> None:
    """The ledger keeps each batch's offsets: the same id over other offsets is not a replay."""
    p, k = f"mismatch-{uuid.uuid4().hex[:8]}", key()
    with psycopg.connect(db.writer) as conn:
        assert write_batch(conn, k, batch(p, [chunk(p, 0)])) is not None
        with pytest.raises(DatabaseError) as info:
            write_batch(conn, k, batch(p, [chunk(p, 0)], first_offset=100))
        assert isinstance(info.value.__cause__, ReplayMismatch) or isinstance(info.value, ReplayMismatch)
        assert "other" in str(info.value) or "came back" in str(info.value)


def test_duplicate_and_conflicting_samples_are_counted_apart(db: Db) -> None:
    p = f"conflict-{uuid.uuid4().hex[:8]}"
    with psycopg.connect(db.writer) as conn:
        write_batch(conn, key(), batch(p, [chunk(p, 0), chunk(p, 360)]))
        # a producer retry (same samples) and a conflicting resend (other samples, same key)
        b = batch(p, [chunk(p, 0), chunk(p, 360, seed=99)], with_meta=False, first_offset=10)
        res = write_batch(conn, key(), b)
    assert res is not None
    assert res.duplicates_skipped == 2 and res.conflicts == 2 and res.dead == []
    # the stored samples keep the first values
    assert stored(db, p)[(0, 360)] == chunk(p, 360).samples[0].tolist()
    with psycopg.connect(db.reader) as conn:
        rows = conn.execute("SELECT kafka_offset, signal_index FROM sample_conflicts "
                            "WHERE patient_id = %s ORDER BY 2", (p,)).fetchall()
        ledger = conn.execute("SELECT duplicates_skipped, conflicts FROM writer_batches "
                              "WHERE query_id = ANY(SELECT query_id FROM sample_conflicts "
                              "WHERE patient_id = %s)", (p,)).fetchall()
    assert rows == [(11, 0), (11, 1)]
    assert ledger == [(2, 2)]


def test_reregistration_with_other_signals_is_refused(db: Db) -> None:
    p = f"rereg-{uuid.uuid4().hex[:8]}"
    with psycopg.connect(db.writer) as conn:
        write_batch(conn, key(), batch(p, [chunk(p, 0)]))
        same = write_batch(conn, key(), batch(p, [], first_offset=5))  # same signals: fine
        assert same is not None and same.dead == []
        b = Batch(metas=[(meta(p, gain=100.0), origin(9, p))], messages=1, offsets={0: (9, 9)})
        res = write_batch(conn, key(), b)
    assert res is not None and len(res.dead) == 1
    assert "registered with other signals" in res.dead[0].reason and "gain" in res.dead[0].reason
    with psycopg.connect(db.reader) as conn:
        gains = conn.execute("SELECT gain FROM signals WHERE patient_id = %s ORDER BY signal_index",
                             (p,)).fetchall()
        dead = conn.execute("SELECT reason FROM dead_letters WHERE patient_key = %s", (p,)).fetchall()
    assert gains == [(200.0,), (200.0,)]
    assert len(dead) == 1 and "other signals" in dead[0][0]


def test_samples_of_a_refused_registration_are_dead_letters(db: Db) -> None:
    """A second stream under a registered id with other signals: its registration is refused and
    so are its samples, in that batch and later ones, while the registered stream's samples are
    still stored. Before, they were stored and exported in the first stream's calibration (an
    adversarial review measured 10.12 mV for a 1.0 mV source). A later registration of that
    stream with the registered signals makes its samples welcome again."""
    p = f"refused-{uuid.uuid4().hex[:8]}"
    later = START_US + 3_600_000_000  # the second stream starts an hour later
    other = PatientMeta(p, "other", 360.0, later, 0, 650_000,
                        (SignalMeta("I", 1000.0, 0, 11, 0), SignalMeta("II", 1000.0, 0, 11, 0)))
    mine = [SampleChunk(p, 360.0, later, i, np.full((2, 360), 7, np.int16)) for i in (0, 360, 720)]
    with psycopg.connect(db.writer) as conn:
        write_batch(conn, key(), batch(p, [chunk(p, 0)]))
        b = Batch(metas=[(other, origin(10, p))], chunks=[(mine[0], origin(11, p)), (mine[1], origin(12, p))],
                  messages=3, offsets={0: (10, 12)})
        res = write_batch(conn, key(), b)
        assert res is not None and res.chunks == 0 and len(res.dead) == 3
        assert all("registered with other signals" in d.reason for d in res.dead)
        # the next batch: the refused stream's chunk, and the registered stream's own
        b = Batch(chunks=[(mine[2], origin(13, p)), (chunk(p, 360), origin(14, p))], messages=2,
                  offsets={0: (13, 14)})
        res = write_batch(conn, key(), b)
        assert res is not None and res.chunks == 1 and len(res.dead) == 1
        assert res.dead[0].offset == 13 and "registration was refused" in res.dead[0].reason
    assert sorted(stored(db, p)) == [(0, 0), (0, 360), (1, 0), (1, 360)]
    with psycopg.connect(db.writer) as conn:  # that stream registered with the patient's signals
        fixed = PatientMeta(p, "101", 360.0, later, 0, 650_000, meta(p).signals)
        b = Batch(metas=[(fixed, origin(15, p))], chunks=[(mine[0], origin(16, p))], messages=2,
                  offsets={0: (15, 16)})
        res = write_batch(conn, key(), b)
        assert res is not None and res.chunks == 1 and res.dead == []


def test_a_chunk_the_database_rejects_is_isolated(db: Db) -> None:
    """A message the decoder let through but the database refuses: the batch is split until it
    stands alone; it is dead-lettered with the database's reason and the rest is committed."""
    p = f"reject-{uuid.uuid4().hex[:8]}"
    fn = f"reject_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(db.admin, autocommit=True) as conn:
        conn.execute(f"CREATE FUNCTION {fn}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                     f"IF NEW.sample_index = 1800 AND NEW.patient_id = '{p}' THEN RAISE EXCEPTION "
                     "'test: sample index 1800 refused' USING ERRCODE = '22023'; END IF; "
                     "RETURN NEW; END $$")
        conn.execute(f"CREATE TRIGGER {fn} BEFORE INSERT ON waveform FOR EACH ROW EXECUTE FUNCTION {fn}()")
    try:
        with psycopg.connect(db.writer) as conn:
            res = write_batch(conn, key(), batch(p, [chunk(p, i * 360) for i in range(8)]))
    finally:
        with psycopg.connect(db.admin, autocommit=True) as conn:
            conn.execute(f"DROP TRIGGER {fn} ON waveform")
            conn.execute(f"DROP FUNCTION {fn}()")
    assert res is not None and res.chunks == 7
    assert [d.offset for d in res.dead] == [6] and "sample index 1800 refused" in res.dead[0].reason
    got = stored(db, p)
    assert sorted({i for _, i in got}) == [i * 360 for i in range(8) if i != 5]


def test_gaps_are_recorded_with_the_batch(db: Db) -> None:
    p, k = f"gap-{uuid.uuid4().hex[:8]}", key()
    b = batch(p, [chunk(p, 0)])
    b.gaps.append(Gap("ecg.test", 3, 120, 500, "test: offsets 120..499 deleted (retention)"))
    with psycopg.connect(db.writer) as conn:
        res = write_batch(conn, k, b)
    assert res is not None and res.gaps == 1
    with psycopg.connect(db.reader) as conn:
        rows = conn.execute("SELECT kafka_partition, from_offset, to_offset, reason FROM "
                            "data_loss_gaps WHERE query_id = %s", (k.query_id,)).fetchall()
    assert rows == [(3, 120, 500, "test: offsets 120..499 deleted (retention)")]
