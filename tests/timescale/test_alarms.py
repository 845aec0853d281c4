"""Alarm tables on both database modes: the alarm job's write exactly once, latching and
acknowledgement, limits with the ward's defaults, the watchdog, and least privilege."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from ecgdash.core.alarms import Limits
from ecgdash.timescale.alarms import (
    acknowledge,
    check_staleness,
    limits_for,
    list_alarms,
    load_limits,
    set_limits,
    write_alarm_batch,
)
from ecgdash.timescale.ledger import BatchKey
from tests.helpers import Db

pytestmark = pytest.mark.integration
T = int(datetime(2025, 1, 1, tzinfo=UTC).timestamp() * 1e6)


def _row(patient: str, kind: str, priority: str, action: str, onset_s: float, at_s: float) -> dict:
    return {"patient_id": patient, "kind": kind, "priority": priority, "action": action,
            "onset_us": T + int(onset_s * 1e6), "at_us": T + int(at_s * 1e6), "value": 1.0,
            "message": kind}


def _events(conn: psycopg.Connection, like: str) -> list[tuple]:
    return conn.execute(
        "SELECT patient_id, kind, priority, onset, ended IS NOT NULL FROM alarm_events "
        "WHERE patient_id LIKE %s ORDER BY patient_id, onset", (like,)).fetchall()


def test_alarm_batch_exactly_once(db: Db) -> None:
    """A replayed batch is skipped by the ledger; the same transition under another batch id (a
    checkpoint lost, the stream replayed) is still stored once, by the event's natural key."""
    tag = uuid.uuid4().hex[:6]
    rows = [_row(f"p-{tag}", "asystole", "high", "raise", 10, 14),
            _row(f"q-{tag}", "tachycardia", "medium", "raise", 12, 15),
            _row(f"q-{tag}", "tachycardia", "medium", "end", 12, 30)]
    with psycopg.connect(db.writer, prepare_threshold=None) as conn:
        assert write_alarm_batch(conn, BatchKey(f"q-{tag}", "alarm_job", 7), rows)
        assert not write_alarm_batch(conn, BatchKey(f"q-{tag}", "alarm_job", 7), rows)
        assert write_alarm_batch(conn, BatchKey(f"q2-{tag}", "alarm_job", 0), rows)
        got = _events(conn, f"%-{tag}")
    assert [(p[0], k, pr, ended) for p, k, pr, _, ended in got] == [
        ("p", "asystole", "high", False), ("q", "tachycardia", "medium", True)]


def test_latching_and_acknowledgement(db: Db) -> None:
    tag = uuid.uuid4().hex[:6]
    rows = [_row(f"h-{tag}", "asystole", "high", "raise", 0, 4),
            _row(f"h-{tag}", "asystole", "high", "end", 0, 9),
            _row(f"m-{tag}", "bradycardia", "medium", "raise", 0, 4),
            _row(f"m-{tag}", "bradycardia", "medium", "end", 0, 9)]
    with psycopg.connect(db.writer, prepare_threshold=None) as conn:
        write_alarm_batch(conn, BatchKey(f"l-{tag}", "alarm_job", 0), rows)
    with psycopg.connect(db.reader) as conn:
        active = {(r.patient_id, r.kind) for r in list_alarms(conn) if r.patient_id.endswith(tag)}
    assert active == {(f"h-{tag}", "asystole")}, "an ended high alarm stays latched until acked"
    with psycopg.connect(db.writer, prepare_threshold=None) as conn:
        assert len(acknowledge(conn, "nurse-2", patient=f"h-{tag}")) == 1
        assert acknowledge(conn, "nurse-2", patient=f"h-{tag}") == []
    with psycopg.connect(db.reader) as conn:
        assert not [r for r in list_alarms(conn) if r.patient_id.endswith(tag)]
        r = conn.execute("SELECT acked_by FROM alarm_events WHERE patient_id = %s",
                         (f"h-{tag}",)).fetchone()
    assert r == ("nurse-2",)


def test_limits_have_ward_defaults(db: Db) -> None:
    tag = uuid.uuid4().hex[:6]
    with psycopg.connect(db.writer, prepare_threshold=None) as conn:
        table = load_limits(conn)
        assert limits_for(table, f"x-{tag}") == Limits(40, 50, 120, 150)
        set_limits(conn, f"x-{tag}", Limits(35, 45, 130, 160), "dr-who")
        assert limits_for(load_limits(conn), f"x-{tag}") == Limits(35, 45, 130, 160)
        with pytest.raises(psycopg.errors.CheckViolation):  # the table checks the order too
            conn.execute("INSERT INTO alarm_limits (patient_id, brady_high, brady_medium, "
                         "tachy_medium, tachy_high) VALUES (%s, 60, 50, 120, 150)", (f"y-{tag}",))


def test_reader_only_reads(db: Db) -> None:
    with psycopg.connect(db.reader) as conn:
        conn.execute("SELECT * FROM alarms_active LIMIT 1")
        conn.execute("SELECT * FROM alarm_limits LIMIT 1")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("UPDATE alarm_events SET acked_by = 'x', acked_at = now()")


def test_watchdog_raises_and_ends_staleness(db: Db) -> None:
    """A patient whose newest data is old is stale_data; a job whose ledger has not moved while
    data kept coming is job_stalled; both end when things move again. Only the database is read."""
    tag = uuid.uuid4().hex[:6]
    patient = f"w-{tag}"
    now = datetime.now(UTC)
    job = f"alarm_job_{tag}"
    with psycopg.connect(db.admin, prepare_threshold=None) as conn:
        conn.execute("INSERT INTO patients (patient_id, source_record, fs, start_time, "
                     "n_source_samples) VALUES (%s, 'x', 360, %s, 1000)", (patient, now))
        conn.execute("INSERT INTO waveform (patient_id, signal_index, time, sample_index, samples, "
                     "ingested_at) VALUES (%s, 0, %s, 0, %s, %s)",
                     (patient, now - timedelta(seconds=61), [0] * 360, now - timedelta(seconds=60)))
        conn.execute("INSERT INTO writer_batches (query_id, batch_id, query_name, messages, chunks, "
                     "samples, duplicates_skipped, dead_lettered, committed_at) "
                     "VALUES (%s, 0, %s, 1, 0, 0, 0, 0, %s)", (tag, job, now - timedelta(seconds=90)))
        conn.commit()
    jobs = {job: 15.0}
    with psycopg.connect(db.writer, prepare_threshold=None) as conn:
        rep = check_staleness(conn, now=now, stale_s=15, jobs=jobs)
        assert f"stale_data {patient}" in rep.raised and f"job_stalled {job}" in rep.raised
        rep2 = check_staleness(conn, now=now, stale_s=15, jobs=jobs)
        assert f"stale_data {patient}" not in rep2.raised, "raised once"
        row = conn.execute("SELECT priority, onset FROM alarm_events WHERE job = %s",
                           (job,)).fetchone()
        assert row[0] == "high" and abs((row[1] - (now - timedelta(seconds=90))).total_seconds()) < 1
    with psycopg.connect(db.admin, prepare_threshold=None) as conn:
        conn.execute("INSERT INTO waveform (patient_id, signal_index, time, sample_index, samples, "
                     "ingested_at) VALUES (%s, 0, %s, 360, %s, %s)",
                     (patient, now - timedelta(seconds=1), [0] * 360, now))
        conn.execute("INSERT INTO writer_batches (query_id, batch_id, query_name, messages, chunks, "
                     "samples, duplicates_skipped, dead_lettered, committed_at) "
                     "VALUES (%s, 1, %s, 1, 0, 0, 0, 0, %s)", (tag, job, now))
        conn.commit()
    with psycopg.connect(db.writer, prepare_threshold=None) as conn:
        rep = check_staleness(conn, now=now + timedelta(seconds=1), stale_s=15, jobs=jobs)
        assert f"stale_data {patient}" in rep.ended and f"job_stalled {job}" in rep.ended
        open_rows = conn.execute(
            "SELECT kind FROM alarms_active WHERE (patient_id = %s OR job = %s) AND NOT acked "
            "AND ended IS NULL", (patient, job)).fetchall()
    assert open_rows == []
