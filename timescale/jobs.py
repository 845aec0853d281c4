"""A local job runner for TimescaleDB policies where the background scheduler does not run.

The embedded TimescaleDB (PGlite) has no background workers, so compression, retention and
continuous-aggregate refresh policies never fire by themselves. `run_due_jobs` runs, with
``CALL run_job(id)``, every policy job whose schedule interval has passed since it last ran
(according to ``timescaledb_information.job_stats``, or this runner's own memory). On a real
TimescaleDB the scheduler does this and the runner is not needed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg

_JOBS = """
SELECT j.job_id, j.proc_name, j.hypertable_name, j.schedule_interval, s.last_run_started_at
FROM timescaledb_information.jobs j
LEFT JOIN timescaledb_information.job_stats s USING (job_id)
WHERE j.scheduled AND j.proc_name IN ('policy_compression', 'policy_retention',
                                      'policy_refresh_continuous_aggregate')
ORDER BY j.job_id"""


@dataclass(frozen=True)
class JobRun:
    job_id: int
    proc: str
    target: str
    error: str | None


def run_due_jobs(
    conn: psycopg.Connection, last_runs: dict[int, datetime] | None = None, force: bool = False
) -> list[JobRun]:
    """Run each due policy job once (`conn` in autocommit mode); errors are returned, not raised."""
    last_runs = last_runs if last_runs is not None else {}
    now = conn.execute("SELECT now()").fetchone()[0]  # type: ignore[index]
    out = []
    for job_id, proc, target, interval, last in conn.execute(_JOBS).fetchall():
        last = max(filter(None, [last, last_runs.get(job_id)]), default=None)
        if not force and last is not None and last + (interval or timedelta(0)) > now:
            continue
        error = None
        try:
            conn.execute("CALL run_job(%s)", (job_id,))
        except psycopg.Error as exc:
            error = str(exc).strip()
        last_runs[job_id] = now
        out.append(JobRun(int(job_id), str(proc), str(target or ""), error))
    return out


def run_forever(dsn: str, every_s: float = 30.0) -> None:
    """`python -m ecgdash.timescale.jobs DSN`: check for due jobs every `every_s` seconds."""
    last_runs: dict[int, datetime] = {}
    while True:
        try:
            with psycopg.connect(dsn, autocommit=True) as conn:
                for run in run_due_jobs(conn, last_runs):
                    status = "ok" if run.error is None else f"failed: {run.error}"
                    print(f"job {run.job_id} {run.proc} {run.target}: {status}", flush=True)
        except psycopg.Error as exc:  # the runner outlives database restarts and migrations
            print(f"job check failed: {exc}", flush=True)
        time.sleep(every_s)


if __name__ == "__main__":
    import os
    import sys

    run_forever(os.environ.get("ECG_JOBS_DSN") or sys.argv[1])
