"""Grafana test fixtures: both database modes, started for real, migrated, loaded with the
recordings of :mod:`tests.helpers.grafana_data`."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from ecgdash.devstack.manager import wait_db
from ecgdash.timescale.migrate import migrate
from tests.helpers.grafana_data import READER_PASSWORD, STREAMS, detect, load_all, reader_dsn


@dataclass(frozen=True)
class Db:
    mode: str  # "postgres" | "timescale"
    admin_dsn: str
    reader_dsn: str

    @property
    def timescaledb(self) -> bool:
        return self.mode == "timescale"


@pytest.fixture(scope="session")
def detections() -> dict[str, tuple[list[tuple], list[tuple]]]:
    return {s.patient: detect(s) for s in STREAMS}


@pytest.fixture(scope="session")
def pg_db(tmp_path_factory: pytest.TempPathFactory, detections) -> Iterator[Db]:
    from ecgdash.devstack.postgres import init_cluster, start_postgres
    from ecgdash.devstack.procs import free_port, stop_pid

    # not tmp_path_factory: concurrent pytest sessions rotate /tmp/pytest-of-<user> away
    base = Path(tempfile.mkdtemp(prefix="ecgdash-grafana-pg-"))
    port = free_port()
    init_cluster(base / "data", "admin-pw")
    proc = start_postgres(base / "data", port, base / "pg.log")
    try:
        admin = f"postgresql://postgres:admin-pw@127.0.0.1:{port}/postgres"
        wait_db(admin)
        migrate(admin, reader_password=READER_PASSWORD, use_timescaledb=False)
        load_all(admin, detections)
        yield Db("postgres", admin, reader_dsn(f"127.0.0.1:{port}"))
    finally:
        stop_pid(proc.pid)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def ts_db(tmp_path_factory: pytest.TempPathFactory, detections) -> Iterator[Db]:
    from ecgdash.devstack.pglite import IN_MEMORY, start_pglite, stop_process
    from ecgdash.devstack.procs import free_port

    base = Path(tempfile.mkdtemp(prefix="ecgdash-grafana-pglite-"))
    port = free_port()
    proc = start_pglite(IN_MEMORY, port, base / "pglite.log")
    try:
        admin = f"postgresql://postgres:any@127.0.0.1:{port}/postgres?sslmode=disable"
        wait_db(admin)
        result = migrate(admin, reader_password=READER_PASSWORD)
        assert result.timescaledb, "the embedded TimescaleDB must take the Timescale layer"
        load_all(admin, detections)
        yield Db("timescale", admin, reader_dsn(f"127.0.0.1:{port}", "?sslmode=disable"))
    finally:
        stop_process(proc)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session", params=["postgres", "timescale"])
def grafana_db(request: pytest.FixtureRequest) -> Db:
    """Each test using this runs once per database mode."""
    return request.getfixturevalue("pg_db" if request.param == "postgres" else "ts_db")


@pytest.fixture
def reader(grafana_db: Db) -> Iterator[psycopg.Connection]:
    """A connection as ecg_reader, the role Grafana uses: proves the GRANTs suffice."""
    with psycopg.connect(grafana_db.reader_dsn, autocommit=True) as conn:
        yield conn
