"""Migrations (ledgered, checksummed), least-privilege roles, and the local policy job runner."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from ecgdash.timescale import migrate as migrate_mod
from ecgdash.timescale.jobs import run_due_jobs
from ecgdash.timescale.migrate import migrate
from tests.helpers import Db

pytestmark = pytest.mark.integration


def test_migrate_is_idempotent(db: Db) -> None:
    res = migrate(db.admin)
    assert res.applied == [] and "incremental/core/001-raw-schema.sql" in res.already
    assert res.timescaledb == (db.mode == "timescale")


def _copy_sql(dest: Path) -> Path:
    for kind in ("incremental", "idempotent"):
        for layer in migrate_mod.LAYERS:
            (dest / kind / layer).mkdir(parents=True)
            for f in (migrate_mod.SQL_DIR / kind / layer).iterdir():
                (dest / kind / layer / f.name).write_text(f.read_text())
    return dest


def test_changed_applied_migration_is_an_error(pg_native: Db, tmp_path, monkeypatch) -> None:
    sql = _copy_sql(tmp_path / "sql")
    changed = sql / "incremental" / "core" / "001-raw-schema.sql"
    changed.write_text(changed.read_text() + "\n-- edited after release\n")
    monkeypatch.setattr(migrate_mod, "SQL_DIR", sql)
    with pytest.raises(migrate_mod.MigrationError,
                       match="incremental/core/001-raw-schema.sql was changed"):
        migrate(pg_native.admin)


def test_idempotent_files_are_reapplied_every_time(pg_native: Db, tmp_path, monkeypatch) -> None:
    """A changed view (idempotent) takes effect on the next migrate, without a new file."""
    sql = _copy_sql(tmp_path / "sql")
    views = sql / "idempotent" / "core" / "100-views.sql"
    views.write_text(views.read_text() + "\nCREATE OR REPLACE VIEW migrate_probe AS SELECT 42 AS answer;\n")
    monkeypatch.setattr(migrate_mod, "SQL_DIR", sql)
    res = migrate(pg_native.admin)
    assert res.applied == []
    with psycopg.connect(pg_native.admin) as conn:
        assert conn.execute("SELECT answer FROM migrate_probe").fetchone() == (42,)
        conn.execute("DROP VIEW migrate_probe")
        conn.commit()


def test_database_of_the_old_layout_is_refused(pg_native: Db) -> None:
    """0.1 recorded run-once files as core/NNN: 0.2 says how to go on instead of half-applying."""
    with psycopg.connect(pg_native.admin) as conn:
        conn.execute("INSERT INTO schema_migrations (name, checksum) VALUES ('core/001-raw-schema.sql', 'x')")
        conn.commit()
    try:
        with pytest.raises(migrate_mod.MigrationError, match="migrated by ECGdashboard 0.1"):
            migrate(pg_native.admin)
    finally:
        with psycopg.connect(pg_native.admin) as conn:
            conn.execute("DELETE FROM schema_migrations WHERE name = 'core/001-raw-schema.sql'")
            conn.commit()


def test_public_schema_is_closed_to_roles(db: Db) -> None:
    """REVOKE CREATE ON SCHEMA public FROM PUBLIC: the job and Grafana roles create nothing."""
    for dsn in (db.writer, db.reader):
        with psycopg.connect(dsn) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("CREATE TABLE sneaky (x int)")


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
    sql = (migrate_mod.SQL_DIR / "incremental" / "core" / "003-waveform-extremes.sql").read_text()
    with psycopg.connect(pg_timescale.admin, autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS upgrade_test CASCADE")
        conn.execute("CREATE SCHEMA upgrade_test")
        # the embedded server shares one session: restore its path as found (RESET would give
        # the WASM build's boot default, pg_catalog only, to every later client)
        old_path = conn.execute("SHOW search_path").fetchone()[0]
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
            conn.execute("SELECT set_config('search_path', %s, false)", (old_path,))
            conn.execute("DROP SCHEMA upgrade_test CASCADE")
