"""Migrations (ledgered, checksummed), least-privilege roles, and the local policy job runner."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
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


SCRATCH = "policy_runner_test"
OLD = datetime(2019, 1, 1, tzinfo=UTC)  # long past every policy's horizon


def test_migration_registers_every_policy(pg_timescale: Db) -> None:
    """Compression after 2 h and retention after ECG_RETENTION_DAYS on the waveform, and a
    refresh policy per continuous aggregate (the runner test below shows each kind working)."""
    with psycopg.connect(pg_timescale.admin) as conn:
        rows = conn.execute(
            "SELECT proc_name, coalesce(hypertable_name, ''), config FROM timescaledb_information.jobs "
            "WHERE scheduled AND hypertable_schema = 'public' OR proc_name = "
            "'policy_refresh_continuous_aggregate' AND scheduled").fetchall()
        caggs = dict(conn.execute(
            "SELECT materialization_hypertable_name, view_name "
            "FROM timescaledb_information.continuous_aggregates WHERE view_schema = 'public'").fetchall())
    by_proc: dict[str, list] = {}
    for proc, table, config in rows:
        by_proc.setdefault(proc, []).append((caggs.get(table, table), config))
    [(table, config)] = by_proc["policy_compression"]
    assert table == "waveform" and config["compress_after"] == "02:00:00"
    [(table, config)] = by_proc["policy_retention"]
    assert table == "waveform" and config["drop_after"] == "30 days"
    refreshed = {view for view, _ in by_proc["policy_refresh_continuous_aggregate"]}
    assert {"hr_beats_1m", "quality_1m", "hr_beats_1h", "quality_1h"} <= refreshed


def test_job_runner_runs_every_policy(pg_timescale: Db) -> None:
    """The runner really compresses a chunk, drops old rows and materialises an aggregate.

    On scratch hypertables with 2019 data, each with one policy of its own; the migration's own
    policies are marked as just run, so the runner leaves the shared tables (and the aggregates'
    watermarks other tests rely on) alone. The embedded server has one session for every
    client: nothing here changes a session setting.
    """
    s = SCRATCH
    with psycopg.connect(pg_timescale.admin, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {s} CASCADE")
        conn.execute(f"CREATE SCHEMA {s}")
        ours: list[int] = []
        try:
            for table in ("comp", "ret", "src"):
                conn.execute(f"CREATE TABLE {s}.{table} (patient_id text NOT NULL, time timestamptz "
                             "NOT NULL, v int NOT NULL, PRIMARY KEY (patient_id, time))")
                conn.execute("SELECT create_hypertable(%s, by_range('time', INTERVAL '1 hour'))",
                             (f"{s}.{table}",))
            conn.execute(f"ALTER TABLE {s}.comp SET (timescaledb.compress, timescaledb.compress_segmentby "
                         "= 'patient_id', timescaledb.compress_orderby = 'time')")
            conn.execute(f"CREATE MATERIALIZED VIEW {s}.src_1m WITH (timescaledb.continuous, "
                         "timescaledb.materialized_only = true) AS SELECT patient_id, "
                         "time_bucket(INTERVAL '1 minute', time) AS bucket, count(*) AS n, sum(v) AS total "
                         f"FROM {s}.src GROUP BY 1, 2 WITH NO DATA")
            now = conn.execute("SELECT now()").fetchone()[0]
            old = [("a", OLD + timedelta(seconds=k), k) for k in range(120)]
            for table in ("comp", "ret", "src"):
                with conn.cursor() as cur:
                    cur.executemany(f"INSERT INTO {s}.{table} VALUES (%s, %s, %s)", old)
            conn.execute(f"INSERT INTO {s}.ret VALUES ('a', %s, 7)", (now,))
            ours = [
                conn.execute("SELECT add_compression_policy(%s, INTERVAL '2 hours')",
                             (f"{s}.comp",)).fetchone()[0],
                conn.execute("SELECT add_retention_policy(%s, INTERVAL '30 days')",
                             (f"{s}.ret",)).fetchone()[0],
                conn.execute("SELECT add_continuous_aggregate_policy(%s, start_offset => NULL, "
                             "end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '1 minute')",
                             (f"{s}.src_1m",)).fetchone()[0],
            ]

            def compressed() -> list[bool]:
                return [r[0] for r in conn.execute(
                    "SELECT is_compressed FROM timescaledb_information.chunks "
                    "WHERE hypertable_schema = %s AND hypertable_name = 'comp'", (s,)).fetchall()]

            def count(sql: str) -> int:
                return conn.execute(sql).fetchone()[0]

            # before: nothing compressed, old rows there, the aggregate empty
            assert compressed() == [False]
            assert count(f"SELECT count(*) FROM {s}.ret") == 121
            assert count(f"SELECT count(*) FROM {s}.src_1m") == 0

            others = [r[0] for r in conn.execute("SELECT job_id FROM timescaledb_information.jobs "
                                                 "WHERE job_id <> ALL(%s)", (ours,)).fetchall()]
            memory = {job: now for job in others}
            runs = run_due_jobs(conn, memory)
            assert sorted((r.job_id, r.proc, r.error) for r in runs) == [
                (ours[0], "policy_compression", None), (ours[1], "policy_retention", None),
                (ours[2], "policy_refresh_continuous_aggregate", None)]

            # after: the 2019 chunk compressed, and it still reads the same
            assert compressed() == [True]
            assert conn.execute(f"SELECT count(*), sum(v) FROM {s}.comp").fetchone() == (120, sum(range(120)))
            # rows past retention dropped with their chunks, the recent row kept
            assert conn.execute(f"SELECT count(*), max(v) FROM {s}.ret").fetchone() == (1, 7)
            assert count(f"SELECT count(*) FROM show_chunks('{s}.ret')") == 1
            # the aggregate materialised (materialized_only: what it shows is what was refreshed)
            assert conn.execute(f"SELECT bucket, n, total FROM {s}.src_1m ORDER BY bucket").fetchall() == [
                (OLD, 60, sum(range(60))), (OLD + timedelta(minutes=1), 60, sum(range(60, 120)))]

            # nothing is due right after a run: the runner remembers what it ran
            assert run_due_jobs(conn, memory) == []
        finally:
            for job in ours:
                conn.execute("SELECT delete_job(%s)", (job,))
            conn.execute(f"DROP SCHEMA {s} CASCADE")


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
