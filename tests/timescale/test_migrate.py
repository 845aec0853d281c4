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


def test_extremes_migration_upgrades_a_compressed_hypertable(pg_timescale: Db) -> None:
    """core/003 (per-chunk lo/hi) on a deployment whose waveform is already a compressed
    hypertable: the columns are added, old rows read NULL (the panels fall back to the samples)
    and new rows take values. Run on a copy of the old table in a scratch schema."""
    sql = (migrate_mod.SQL_DIR / "core" / "003-waveform-extremes.sql").read_text()
    with psycopg.connect(pg_timescale.admin, autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS upgrade_test CASCADE")
        conn.execute("CREATE SCHEMA upgrade_test")
        try:
            conn.execute("SET search_path TO upgrade_test, public")
            conn.execute(
                "CREATE TABLE waveform (patient_id text NOT NULL, signal_index smallint NOT NULL, "
                "time timestamptz NOT NULL, sample_index bigint NOT NULL, samples smallint[] NOT NULL, "
                "PRIMARY KEY (patient_id, signal_index, time))")
            conn.execute("SELECT create_hypertable('waveform', by_range('time', INTERVAL '1 hour'))")
            conn.execute("ALTER TABLE waveform SET (timescaledb.compress, "
                         "timescaledb.compress_segmentby = 'patient_id, signal_index', "
                         "timescaledb.compress_orderby = 'time')")
            conn.execute("INSERT INTO waveform VALUES ('p', 0, '2024-01-01 00:00+00', 0, '{1,5,-3}')")
            n = conn.execute("SELECT count(compress_chunk(c)) FROM show_chunks('waveform') c").fetchone()[0]
            assert n == 1
            conn.execute(sql)
            conn.execute("INSERT INTO waveform VALUES ('p', 0, '2024-01-01 00:00:01+00', 3, '{2,7}', 2, 7)")
            rows = conn.execute("SELECT sample_index, lo, hi FROM waveform ORDER BY time").fetchall()
            assert rows == [(0, None, None), (3, 2, 7)]
        finally:
            conn.execute("RESET search_path")
            conn.execute("DROP SCHEMA upgrade_test CASCADE")
