"""Migrations (ledgered, checksummed), least-privilege roles, and the local policy job runner."""

from __future__ import annotations

import psycopg
import pytest

from tests.conftest import Db
from timescale import migrate as migrate_mod
from timescale.jobs import run_due_jobs
from timescale.migrate import migrate

pytestmark = pytest.mark.integration


def test_migrate_is_idempotent(db: Db) -> None:
    res = migrate(db.admin)
    assert res.applied == [] and "core/001-raw-schema.sql" in res.already
    assert res.timescaledb == (db.mode == "timescale")


def test_changed_applied_migration_is_an_error(pg_native: Db, tmp_path, monkeypatch) -> None:
    sql = tmp_path / "sql"
    for layer in ("core", "timescaledb", "idempotent"):
        (sql / layer).mkdir(parents=True)
        for f in (migrate_mod.SQL_DIR / layer).glob("*.sql"):
            (sql / layer / f.name).write_text(f.read_text())
    changed = sql / "core" / "001-raw-schema.sql"
    changed.write_text(changed.read_text() + "\n-- edited after release\n")
    monkeypatch.setattr(migrate_mod, "SQL_DIR", sql)
    with pytest.raises(migrate_mod.MigrationError, match="core/001-raw-schema.sql was changed"):
        migrate(pg_native.admin)


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO patients (patient_id, source_record, fs, start_time, n_source_samples) "
        "VALUES ('x', 'r', 360, now(), 1)",
        "DELETE FROM waveform",
        "DROP TABLE beats",
    ],
)
def test_reader_cannot_write(db: Db, statement: str) -> None:
    with psycopg.connect(db.reader) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(statement)


@pytest.mark.parametrize(
    "statement",
    ["DELETE FROM waveform", "UPDATE waveform SET samples = '{}'", "DROP TABLE waveform",
     "TRUNCATE writer_batches", "DELETE FROM writer_batches"],
)
def test_writer_cannot_destroy(db: Db, statement: str) -> None:
    with psycopg.connect(db.writer) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(statement)


def test_job_runner_runs_every_policy(pg_timescale: Db) -> None:
    with psycopg.connect(pg_timescale.admin, autocommit=True) as conn:
        runs = run_due_jobs(conn, force=True)
        procs = {r.proc for r in runs}
        assert {"policy_compression", "policy_retention",
                "policy_refresh_continuous_aggregate"} <= procs
        assert [r for r in runs if r.error] == []
        # nothing is due right after a run
        assert run_due_jobs(conn, {r.job_id: conn.execute("SELECT now()").fetchone()[0]
                                   for r in runs}) == []
