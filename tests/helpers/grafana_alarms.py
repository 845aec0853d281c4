"""Alarm events for the Grafana test databases, written into migration 004's `alarm_events` (the
table the alarm job writes), so that the wall's alarm colours, its banner and the patient view's
alarm annotations are tested against the real schema and the real `alarms_active` view.

Events (seconds of the stream clock from the test data's T0, see grafana_data): pause-101
asystole (high, active, newest), fast-101 tachycardia (medium, active), gap-119 leads-off (low,
active, acknowledged) and a signal loss of gap-119 that has ended; sinus-101 and sinus-106 none.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import psycopg

# (patient, kind, priority, onset s, ended s or None, value, message, acked)
EVENTS = (
    ("pause-101", "asystole", "high", 89.5, None, 7.0, "no beat for 7 s", False),
    ("fast-101", "tachycardia", "medium", 20.0, None, 141.0, "HR 141 > 120 bpm", False),
    ("gap-119", "leads_off", "low", 60.0, None, None, "flat line on all leads", True),
    ("gap-119", "signal_loss", "high", 150.0, 151.0, 12.0, "no samples for 12 s", True),
)


def insert_alarm_events(conn: psycopg.Connection, t0: datetime) -> None:
    """EVENTS from `t0` (raised 2 s after onset), as the alarm job would have written them."""
    with conn.transaction():
        for patient, kind, priority, onset, ended, value, message, acked in EVENTS:
            t_on = t0 + timedelta(seconds=onset)
            t_end = None if ended is None else t0 + timedelta(seconds=ended)
            conn.execute(
                "INSERT INTO alarm_events (patient_id, kind, priority, onset, ended, raised_at, "
                "ended_at, value, message, acked_by, acked_at, source) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 'alarm_job')",
                (patient, kind, priority, t_on, t_end, t_on + timedelta(seconds=2),
                 None if t_end is None else t_end + timedelta(seconds=2), value, message,
                 "nurse" if acked else None, t_on + timedelta(seconds=30) if acked else None))
