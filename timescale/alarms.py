"""Alarms (``alarm_events``, ``alarm_limits``, view ``alarms_active``): every SQL about them.

* the alarm job's exactly-once write of a micro-batch of transitions (ledger claim/finish, and
  idempotent by the event's natural key besides);
* the watchdog's staleness check (stale patients, stalled jobs), independent of the jobs;
* limits, listing and acknowledgement for the CLI.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg

from ecgdash.core.alarms import JOB_STALLED, PRIORITY_OF, STALE_DATA, Limits
from ecgdash.core.clock import us_to_datetime
from ecgdash.core.errors import DatabaseError
from ecgdash.timescale import heart_rate, ledger
from ecgdash.timescale.ledger import BatchKey

SOURCE_STREAM = "alarm_job"
SOURCE_WATCHDOG = "watchdog"
DEFAULTS = "*"  # the alarm_limits row of the ward's defaults

_RAISE = """
INSERT INTO alarm_events (patient_id, job, kind, priority, onset, value, message, source)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (coalesce(patient_id, ''), coalesce(job, ''), kind, priority, onset) DO NOTHING"""
_END = """
UPDATE alarm_events SET ended = %s, ended_at = clock_timestamp()
WHERE coalesce(patient_id, '') = %s AND coalesce(job, '') = %s AND kind = %s AND priority = %s
  AND onset = %s AND ended IS NULL"""


def write_alarm_batch(conn: psycopg.Connection, key: BatchKey, rows: Sequence[Mapping[str, Any]],
                      beats: Sequence[Mapping[str, Any]] = ()) -> bool:
    """The transitions of one alarm-job micro-batch, once; False if already committed.

    Each row: ``patient_id``, ``kind``, ``priority``, ``action`` ('raise' or 'end'),
    ``onset_us``, ``at_us`` (signal clock, epoch µs), ``value``, ``message``. Applied in order,
    so an event raised and ended in one batch is stored ended. ``beats``: the beats and quality
    windows the job's detector found (rows as ``heart_rate.write_hr_batch`` takes them), stored
    with their rollups in the same transaction.
    """
    try:
        with conn.transaction():
            if not ledger.claim(conn, key, len(rows) + len(beats)):
                return False
            heart_rate.write_hr_rows(conn, beats)
            with conn.cursor() as cur:
                for r in rows:
                    onset = us_to_datetime(int(r["onset_us"]))
                    if r["action"] == "raise":
                        cur.execute(_RAISE, (r["patient_id"], None, r["kind"], r["priority"], onset,
                                             r["value"], r["message"] or "", SOURCE_STREAM))
                    else:
                        cur.execute(_END, (us_to_datetime(int(r["at_us"])), r["patient_id"], "",
                                           r["kind"], r["priority"], onset))
            ledger.finish(conn, key, chunks=len(rows))
    except psycopg.Error as exc:
        raise DatabaseError(
            f"alarm batch {key.batch_id} of {key.query_name} ({key.query_id}) not written: {exc}"
        ) from exc
    return True


# --- limits ------------------------------------------------------------------------------------

_LIMITS = "SELECT patient_id, brady_high, brady_medium, tachy_medium, tachy_high FROM alarm_limits"
_SET_LIMITS = """
INSERT INTO alarm_limits (patient_id, brady_high, brady_medium, tachy_medium, tachy_high, updated_by)
VALUES (%s, %s, %s, %s, %s, %s)
ON CONFLICT (patient_id) DO UPDATE SET brady_high = excluded.brady_high,
    brady_medium = excluded.brady_medium, tachy_medium = excluded.tachy_medium,
    tachy_high = excluded.tachy_high, updated_by = excluded.updated_by,
    updated_at = clock_timestamp()"""


def load_limits(conn: psycopg.Connection) -> dict[str, Limits]:
    """Every row of ``alarm_limits`` (``'*'``: the ward's defaults)."""
    return {r[0]: Limits(*(float(v) for v in r[1:])) for r in conn.execute(_LIMITS).fetchall()}


def limits_for(table: Mapping[str, Limits], patient: str) -> Limits:
    return table.get(patient) or table.get(DEFAULTS) or Limits()


def set_limits(conn: psycopg.Connection, patient: str, limits: Limits, by: str) -> None:
    """Set one patient's limits (``'*'``: the ward's defaults)."""
    with conn.transaction():
        conn.execute(_SET_LIMITS, (patient, limits.brady_high, limits.brady_medium,
                                   limits.tachy_medium, limits.tachy_high, by))


# --- reading and acknowledging -----------------------------------------------------------------

@dataclass(frozen=True)
class AlarmRow:
    alarm_id: int
    patient_id: str | None
    job: str | None
    kind: str
    priority: str
    onset: datetime
    ended: datetime | None
    raised_at: datetime
    value: float | None
    message: str
    acked_by: str | None
    acked_at: datetime | None


_COLUMNS = ("alarm_id, patient_id, job, kind, priority, onset, ended, raised_at, value, message, "
            "acked_by, acked_at")
_ACTIVE = f"SELECT {_COLUMNS} FROM alarms_active ORDER BY raised_at DESC"
_RECENT = f"""
SELECT {_COLUMNS} FROM alarm_events WHERE raised_at >= %s ORDER BY raised_at DESC LIMIT %s"""


def list_alarms(conn: psycopg.Connection, *, active: bool = True, since: datetime | None = None,
                limit: int = 100) -> list[AlarmRow]:
    """Latched alarms (``alarms_active``), or every event raised since ``since``."""
    if active:
        rows = conn.execute(_ACTIVE).fetchall()[:limit]
    else:
        rows = conn.execute(_RECENT, (since or datetime.fromtimestamp(0).astimezone(), limit)
                            ).fetchall()
    return [AlarmRow(*r) for r in rows]


_ACK = """
UPDATE alarm_events SET acked_by = %s, acked_at = clock_timestamp()
WHERE acked_at IS NULL AND (ended IS NULL OR priority = 'high')
  AND (%s::bigint IS NULL OR alarm_id = %s)
  AND (%s::text IS NULL OR patient_id = %s)
  AND (%s::text IS NULL OR kind = %s)
RETURNING alarm_id"""


def acknowledge(conn: psycopg.Connection, by: str, *, alarm_id: int | None = None,
                patient: str | None = None, kind: str | None = None) -> list[int]:
    """Acknowledge latched alarms (by id, or all of a patient, optionally of one kind)."""
    if alarm_id is None and patient is None:
        raise ValueError("name an alarm id or a patient to acknowledge")
    with conn.transaction():
        rows = conn.execute(_ACK, (by, alarm_id, alarm_id, patient, patient, kind, kind)).fetchall()
    return [int(r[0]) for r in rows]


# --- the watchdog ------------------------------------------------------------------------------

# per patient streamed within the window: its newest chunk (signal end time) and when it was stored
_NEWEST = """
SELECT p.patient_id, w.end_time, w.ingested_at
FROM patients p
CROSS JOIN LATERAL (
    SELECT time + cardinality(samples) * INTERVAL '1 second' / p.fs AS end_time, ingested_at
    FROM waveform WHERE patient_id = p.patient_id AND signal_index = 0
    ORDER BY time DESC LIMIT 1
) w
WHERE w.ingested_at > %s"""
_LAST_COMMIT = "SELECT max(committed_at) FROM writer_batches WHERE query_name = %s"
_OPEN = """
SELECT coalesce(patient_id, job), onset, priority FROM alarm_events
WHERE kind = %s AND source = 'watchdog' AND ended IS NULL"""
_END_WATCHDOG = """
UPDATE alarm_events SET ended = %s, ended_at = clock_timestamp()
WHERE coalesce(patient_id, job) = %s AND kind = %s AND source = 'watchdog' AND ended IS NULL"""


@dataclass(frozen=True)
class WatchReport:
    raised: list[str]
    ended: list[str]


def check_staleness(conn: psycopg.Connection, *, now: datetime, stale_s: float,
                    jobs: Mapping[str, float], window_s: float = 3600.0,
                    raw_job: str = "raw_writer") -> WatchReport:
    """Raise and end the watchdog's alarms, from the database alone (no job involved):

    * ``stale_data`` (medium) for a patient stored within ``window_s`` whose newest chunk was
      stored more than ``stale_s`` ago, or stored more than ``stale_s`` after its last sample
      (signal clock: a replay of old records with ``--start record`` is stale by design); onset:
      that chunk's last sample;
    * ``job_stalled`` (high) for a streaming query of ``jobs`` (name -> seconds) whose newest
      ledger commit is older than its threshold while data kept coming (stored more than the
      threshold after that commit); the raw writer, which stores the data, counts as stalled
      when it committed within the window and not for its threshold. Onset: its last commit.
    """
    raised: list[str] = []
    ended: list[str] = []
    with conn.transaction():
        newest = conn.execute(_NEWEST, (now - timedelta(seconds=window_s),)).fetchall()
        open_stale = {r[0]: r[1] for r in conn.execute(_OPEN, (STALE_DATA,)).fetchall()}
        seen = set()
        newest_ingest = max((r[2] for r in newest), default=None)
        for patient, end_time, ingested in newest:
            seen.add(patient)
            # stale: nothing stored lately, or what was stored last arrived late (a lagging
            # pipeline stores data, but data already too old to watch a patient by)
            age = max((now - ingested).total_seconds(), (ingested - end_time).total_seconds())
            if age > stale_s and patient not in open_stale:
                conn.execute(_RAISE, (patient, None, STALE_DATA, PRIORITY_OF[STALE_DATA], end_time,
                                      round(age, 1), f"stale data: nothing stored for {age:.0f} s",
                                      SOURCE_WATCHDOG))
                raised.append(f"{STALE_DATA} {patient}")
            elif age <= stale_s and patient in open_stale:
                conn.execute(_END_WATCHDOG, (end_time, patient, STALE_DATA))
                ended.append(f"{STALE_DATA} {patient}")
        for patient, onset in open_stale.items():
            if patient not in seen:  # silent for the whole window: off monitoring
                conn.execute(_END_WATCHDOG, (onset + timedelta(seconds=window_s), patient,
                                             STALE_DATA))
                ended.append(f"{STALE_DATA} {patient}")
        open_jobs = {r[0]: r[1] for r in conn.execute(_OPEN, (JOB_STALLED,)).fetchall()}
        for job, threshold in jobs.items():
            last = conn.execute(_LAST_COMMIT, (job,)).fetchone()[0]
            if last is None:
                continue  # never ran: not started is not stalled
            late = (now - last).total_seconds() > threshold
            if job == raw_job:
                stalled = late and (now - last).total_seconds() < window_s
            else:
                stalled = late and newest_ingest is not None and \
                    (newest_ingest - last).total_seconds() > threshold
            if stalled and job not in open_jobs:
                age = (now - last).total_seconds()
                conn.execute(_RAISE, (None, job, JOB_STALLED, PRIORITY_OF[JOB_STALLED], last,
                                      round(age, 1),
                                      f"job stalled: {job} committed nothing for {age:.0f} s "
                                      "(its alarms are not being decided)", SOURCE_WATCHDOG))
                raised.append(f"{JOB_STALLED} {job}")
            elif job in open_jobs and last > open_jobs[job]:
                conn.execute(_END_WATCHDOG, (last, job, JOB_STALLED))
                ended.append(f"{JOB_STALLED} {job}")
    return WatchReport(raised, ended)


# events of patients in a signal-time range (dataset exports: labels and review strips)
_OVERLAPPING = f"""
SELECT {_COLUMNS} FROM alarm_events
WHERE patient_id = %s AND onset < %s AND (ended IS NULL OR ended >= %s)
ORDER BY onset, alarm_id"""


def events_between(conn: psycopg.Connection, patient: str, t0: datetime, t1: datetime
                   ) -> list[AlarmRow]:
    """Alarm events of `patient` on during [t0, t1) (signal clock): onset before t1, not ended
    before t0; in onset order."""
    return [AlarmRow(*r) for r in conn.execute(_OVERLAPPING, (patient, t1, t0)).fetchall()]
