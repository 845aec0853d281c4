"""STAND-IN for the alarms engineer's migration 004 (issue 11): the `alarm_events` table and the
`alarms_active` view of their contract, created in the Grafana test databases only, so that the
wall's alarm colours, its banner and the patient view's alarm annotations can be tested before
that migration lands. Replace this module's DDL by migration 004 when it is merged (the columns
below are the contract; nothing else of ours creates these objects).

Events (seconds of the stream clock from the test data's T0, see grafana_data): pause-101
asystole (high, active, newest), fast-101 tachycardia (medium, active), gap-119 leads-off (low,
active, acknowledged) and a signal loss of gap-119 that has ended; sinus-101 and sinus-106 none.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import psycopg

STAND_IN_DDL = """
CREATE TABLE alarm_events (
    alarm_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    patient_id text NOT NULL,
    kind       text NOT NULL,
    priority   text NOT NULL CHECK (priority IN ('high', 'medium', 'low')),
    onset      timestamptz NOT NULL,   -- signal clock
    ended      timestamptz,            -- signal clock
    raised_at  timestamptz NOT NULL,   -- wall clock
    ended_at   timestamptz,
    value      double precision,
    message    text NOT NULL DEFAULT '',
    acked_by   text,
    acked_at   timestamptz
);
CREATE VIEW alarms_active AS
SELECT patient_id, kind, priority, onset, raised_at, value, message, acked_at IS NOT NULL AS acked
FROM alarm_events
WHERE ended_at IS NULL OR (priority = 'high' AND acked_at IS NULL);
GRANT SELECT ON alarm_events, alarms_active TO ecg_reader;
"""

# (patient, kind, priority, onset s, ended s or None, value, message, acked)
EVENTS = (
    ("pause-101", "asystole", "high", 89.5, None, 7.0, "no beat for 7 s", False),
    ("fast-101", "tachycardia", "medium", 20.0, None, 141.0, "HR 141 > 120 bpm", False),
    ("gap-119", "leads_off", "low", 60.0, None, None, "flat line on all leads", True),
    ("gap-119", "signal_loss", "high", 150.0, 151.0, 12.0, "no samples for 12 s", True),
)


def create_alarm_stand_in(conn: psycopg.Connection, t0: datetime) -> None:
    """The contract's table and view, and EVENTS from `t0` (raised 2 s after onset)."""
    with conn.transaction():
        conn.execute(STAND_IN_DDL)
        for patient, kind, priority, onset, ended, value, message, acked in EVENTS:
            t_on = t0 + timedelta(seconds=onset)
            t_end = None if ended is None else t0 + timedelta(seconds=ended)
            conn.execute(
                "INSERT INTO alarm_events (patient_id, kind, priority, onset, ended, raised_at, "
                "ended_at, value, message, acked_by, acked_at) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (patient, kind, priority, t_on, t_end, t_on + timedelta(seconds=2),
                 None if t_end is None else t_end + timedelta(seconds=2), value, message,
                 "nurse" if acked else None, t_on + timedelta(seconds=30) if acked else None))
