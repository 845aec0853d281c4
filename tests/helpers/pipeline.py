"""A raw path under test: private services that a fault can stop, and the checks that nothing
was lost or doubled. Used by tests/spark_jobs/test_faults.py and bench/soak.py."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import psycopg

from ecgdash.core.clock import us_to_datetime
from ecgdash.devstack.manager import wait_db
from ecgdash.devstack.pglite import start_pglite, stop_process
from ecgdash.devstack.postgres import init_cluster, start_postgres
from ecgdash.devstack.procs import free_port, stop_pid
from ecgdash.ingest.records import read_record
from ecgdash.ingest.run import IngestResult
from ecgdash.timescale.migrate import migrate
from ecgdash.verify import VerifyResult, verify_store
from tests.helpers.services import MITDB, Db, dsns


@dataclass
class PrivateDb:
    """A database of its own (native PostgreSQL or the embedded TimescaleDB) on a fixed port, so
    a test can stop, kill and restart it under a running job."""

    mode: str
    base: Path  # keep it outside pytest's temp root for native PostgreSQL (see tests/conftest.py)
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None
    db: Db | None = None
    superuser_password: str = field(default_factory=lambda: secrets.token_hex(8), repr=False)

    def start(self) -> Db:
        data, log = self.base / "data", self.base / "db.log"
        if self.mode == "postgres":
            if self.db is None:
                init_cluster(data, self.superuser_password)
            self.proc = start_postgres(data, self.port, log)
        else:
            self.proc = start_pglite(data, self.port, log)
        su, wpw, rpw = self.superuser_password, "writer-pw", "reader-pw"
        admin, writer, reader = dsns(self.port, su, "disable", wpw, rpw)
        wait_db(admin)
        if self.db is None:
            migrate(admin, writer_password=wpw, reader_password=rpw)
        self.db = Db(self.mode, admin, writer, reader)
        return self.db

    def stop(self) -> None:
        if self.proc is not None:
            if self.mode == "postgres":
                stop_pid(self.proc.pid)
            else:
                stop_process(self.proc)
            self.proc = None

    def kill(self) -> None:
        """SIGKILL the server's process group: no shutdown, no flush."""
        if self.proc is not None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            self.proc = None


def stored_samples(db: Db, patients: list[str], since: datetime) -> int:
    try:
        with psycopg.connect(db.reader, connect_timeout=3) as conn:
            row = conn.execute("SELECT coalesce(sum(cardinality(samples)), 0) FROM waveform "
                               "WHERE patient_id = ANY(%s) AND time >= %s", (patients, since)).fetchone()
        return int(row[0]) if row else 0
    except psycopg.Error:
        return -1  # the database is down (a fault in progress)


def wait_stored(db: Db, results: list[IngestResult], timeout_s: float, query=None) -> float:
    """Wait until every sample of `results` is stored; returns the seconds it took."""
    patients = [s.patient for r in results for s in r.streams]
    since = us_to_datetime(min(s.start_us for r in results for s in r.streams))
    want = sum(s.n_total * len(s.recording.signals) for r in results for s in r.streams)
    t0 = time.monotonic()
    n = 0
    while time.monotonic() - t0 < timeout_s:
        n = stored_samples(db, patients, since)
        if n >= want:
            return time.monotonic() - t0
        if query is not None and query.exception() is not None:
            raise AssertionError(f"the query failed: {query.exception()}")
        time.sleep(0.5)
    raise AssertionError(f"only {n} of {want} samples stored after {timeout_s:.0f} s")


def verify(db: Db, results: list[IngestResult]) -> VerifyResult:
    """Every sample of `results` against its source record: exact, once, complete."""
    streams = [s for r in results for s in r.streams]
    recs = {s.recording.name: read_record(MITDB / s.recording.name) for s in streams}
    expected = {s.patient: (s.recording.name, s.n_total) for s in streams}
    since = us_to_datetime(min(s.start_us for s in streams))
    with psycopg.connect(db.reader) as conn:
        return verify_store(conn, recs, expected, since)


def ledger_replays(db: Db, since: datetime) -> int:
    """Batch ids committed more than once (must be 0: the ledger's primary key says so)."""
    with psycopg.connect(db.reader) as conn:
        return int(conn.execute("SELECT count(*) - count(DISTINCT (query_id, batch_id)) FROM "
                                "writer_batches WHERE committed_at >= %s", (since,)).fetchone()[0])
