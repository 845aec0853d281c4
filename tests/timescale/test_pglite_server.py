"""The embedded TimescaleDB server (timescale/pglite_server) over the wire, from psycopg.

A real Node server is started on a free port with its data dir in a tmp folder; nothing is
mocked. Every test uses its own tables, so the tests share one server.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from psycopg import errors

from ecgdash.stack.pglite import start_pglite, stop_process
from ecgdash.stack.procs import LOCALHOST, free_port

pytestmark = pytest.mark.integration

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def dsn(port: int, user: str = "postgres", sslmode: str = "disable") -> str:
    return (
        f"host={LOCALHOST} port={port} user={user} password=any dbname=ecg "
        f"sslmode={sslmode} connect_timeout=10"
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """A PGlite server with an on-disk data dir; yields its port."""
    base = tmp_path_factory.mktemp("pglite")
    port = free_port()
    proc = start_pglite(base / "data", port, base / "server.log")
    try:
        yield port
    finally:
        stop_process(proc)


@pytest.fixture
def conn(server: int) -> Iterator[psycopg.Connection]:
    with psycopg.connect(dsn(server), autocommit=True) as c:
        yield c


def ecg_rows(n: int) -> list[tuple[int, datetime, list[int] | None]]:
    """Rows like the product's: (patient, time, 360 samples in ADC units), with edge values."""
    rows: list[tuple[int, datetime, list[int] | None]] = []
    for i in range(n):
        samples = [((i * 7 + k * 13) % 65536) - 32768 for k in range(360)]
        rows.append((i, T0 + timedelta(seconds=i, microseconds=i * 37), samples))
    rows.append((n, T0, []))
    rows.append((n + 1, T0 - timedelta(days=400), None))
    return rows


@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
def test_copy_from_stdin_round_trips_exactly(conn: psycopg.Connection, binary: bool) -> None:
    table = f"copy_rt_{'bin' if binary else 'txt'}"
    conn.execute(f"CREATE TABLE {table} (patient int, ts timestamptz, samples smallint[])")
    rows = ecg_rows(500)
    fmt = " (FORMAT BINARY)" if binary else ""
    with conn.cursor() as cur:
        with cur.copy(f"COPY {table} (patient, ts, samples) FROM STDIN{fmt}") as copy:
            if binary:
                copy.set_types(["int4", "timestamptz", "int2[]"])
            for row in rows:
                copy.write_row(row)
        assert cur.rowcount == len(rows)
    got = conn.execute(f"SELECT patient, ts, samples FROM {table} ORDER BY patient").fetchall()
    assert got == rows


def test_copy_to_stdout(conn: psycopg.Connection) -> None:
    conn.execute("CREATE TABLE copy_out (a int, v smallint[])")
    conn.execute("INSERT INTO copy_out VALUES (1, '{1,-2}'), (2, NULL)")
    with (
        conn.cursor() as cur,
        cur.copy("COPY (SELECT a, v FROM copy_out ORDER BY a) TO STDOUT") as copy,
    ):
        copy.set_types(["int4", "int2[]"])
        assert list(copy.rows()) == [(1, [1, -2]), (2, None)]


def test_copy_inside_transaction_keeps_transaction(server: int) -> None:
    with psycopg.connect(dsn(server)) as c:
        c.execute("CREATE TABLE copy_tx (a int)")
        c.commit()
        c.execute("INSERT INTO copy_tx VALUES (0)")
        with c.cursor().copy("COPY copy_tx (a) FROM STDIN") as copy:
            copy.write_row((1,))
        c.execute("INSERT INTO copy_tx VALUES (2)")
        c.rollback()
        assert c.execute("SELECT count(*) FROM copy_tx").fetchone() == (0,)
        c.execute("INSERT INTO copy_tx VALUES (0)")
        with c.cursor().copy("COPY copy_tx (a) FROM STDIN") as copy:
            copy.write_row((1,))
        c.commit()
        assert c.execute("SELECT array_agg(a ORDER BY a) FROM copy_tx").fetchone() == ([0, 1],)


def test_copy_errors_are_reported_and_connection_survives(conn: psycopg.Connection) -> None:
    with (
        pytest.raises(errors.UndefinedTable),
        conn.cursor().copy("COPY no_such_table (a) FROM STDIN") as copy,
    ):
        copy.write_row((1,))
    conn.execute("CREATE TABLE copy_bad (a smallint)")
    with (
        pytest.raises(errors.NumericValueOutOfRange),
        conn.cursor().copy("COPY copy_bad (a) FROM STDIN") as copy,
    ):
        copy.write_row((1,))
        copy.write_row((99999,))
    with (
        pytest.raises(RuntimeError),
        conn.cursor().copy("COPY copy_bad (a) FROM STDIN") as copy,
    ):
        copy.write_row((2,))
        raise RuntimeError("client gives up: psycopg sends CopyFail")
    assert conn.execute("SELECT count(*) FROM copy_bad").fetchone() == (0,)


def test_extended_protocol_copy_in_is_refused_not_fatal(conn: psycopg.Connection) -> None:
    """PGlite would trap on it; the server answers an error and keeps serving."""
    conn.execute("CREATE TABLE copy_ext (a int)")
    res = conn.pgconn.exec_params(b"COPY copy_ext (a) FROM STDIN", [])
    assert res.status == psycopg.pq.ExecStatus.FATAL_ERROR
    assert b"simple query protocol" in (res.error_message or b"")
    assert conn.execute("SELECT count(*) FROM copy_ext").fetchone() == (0,)


def test_waiting_connection_sees_only_committed_data(server: int) -> None:
    with psycopg.connect(dsn(server), autocommit=True) as setup:
        setup.execute("CREATE TABLE iso (a int)")
    holder = psycopg.connect(dsn(server))
    holder.execute("INSERT INTO iso VALUES (1)")  # psycopg opened a transaction: engine held
    seen: list[object] = []

    def reader() -> None:
        with psycopg.connect(dsn(server), autocommit=True) as c:
            seen.append(c.execute("SELECT count(*) FROM iso").fetchone())

    thread = threading.Thread(target=reader)
    thread.start()
    time.sleep(1.0)
    assert seen == [], "a second connection ran while another was inside a transaction"
    holder.rollback()
    holder.execute("INSERT INTO iso VALUES (2)")
    holder.commit()
    thread.join(timeout=30)
    holder.close()
    assert seen in ([(0,)], [(1,)])  # ran after the rollback, before or after the commit
    with psycopg.connect(dsn(server)) as c:
        assert c.execute("SELECT array_agg(a) FROM iso").fetchone() == ([2],)


@pytest.mark.parametrize("how", ["terminate", "drop_socket"])
def test_disconnect_inside_transaction_rolls_back(server: int, how: str) -> None:
    table = f"gone_{how}"
    with psycopg.connect(dsn(server), autocommit=True) as c:
        c.execute(f"CREATE TABLE {table} (a int)")
    leaver = psycopg.connect(dsn(server))
    leaver.execute(f"INSERT INTO {table} VALUES (1)")
    if how == "terminate":
        leaver.close()  # sends Terminate without COMMIT
    else:
        sock = socket.socket(fileno=os.dup(leaver.fileno()))
        sock.shutdown(socket.SHUT_RDWR)
        sock.close()
    with psycopg.connect(dsn(server)) as c:
        assert c.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,)
    if how == "drop_socket":
        leaver.close()


def test_many_connections_with_prepared_statements(server: int) -> None:
    n_conns = 40
    with psycopg.connect(dsn(server), autocommit=True) as c:
        c.execute("CREATE TABLE many (conn int, i int)")
    failures: list[BaseException] = []
    barrier = threading.Barrier(n_conns)

    def worker(k: int) -> None:
        try:
            with psycopg.connect(dsn(server), autocommit=True) as c:
                barrier.wait(timeout=60)
                # psycopg names prepared statements _pg3_0, _pg3_1... in every connection
                for i in range(8):
                    got = c.execute("SELECT %s::int * %s::int", (k, i), prepare=True).fetchone()
                    assert got == (k * i,)
                    c.execute("INSERT INTO many VALUES (%s, %s)", (k, i), prepare=True)
        except BaseException as exc:  # reported below
            failures.append(exc)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(n_conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert failures == []
    with psycopg.connect(dsn(server)) as c:
        assert c.execute("SELECT count(*) FROM many").fetchone() == (n_conns * 8,)


def test_ssl_request_is_declined(server: int) -> None:
    with psycopg.connect(dsn(server, sslmode="prefer")) as c:
        assert c.execute("SELECT 1").fetchone() == (1,)


def test_timescaledb_features(conn: psycopg.Connection) -> None:
    assert conn.execute(
        "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'"
    ).fetchone() == ("2.23.0-dev",)
    conn.execute("CREATE TABLE ts_ecg (patient int NOT NULL, ts timestamptz NOT NULL, mv real)")
    conn.execute("SELECT create_hypertable('ts_ecg', by_range('ts', INTERVAL '1 day'))")
    now = datetime.now(UTC).replace(microsecond=0)
    with conn.cursor().copy("COPY ts_ecg (patient, ts, mv) FROM STDIN") as copy:
        for day in range(10):
            for minute in range(0, 60 * 24, 30):
                copy.write_row((day % 2, now - timedelta(days=day, minutes=minute), 0.5))
    n_chunks = conn.execute("SELECT count(*) FROM show_chunks('ts_ecg')").fetchone()
    assert n_chunks is not None and n_chunks[0] >= 10

    conn.execute(
        "CREATE MATERIALIZED VIEW ts_ecg_hourly WITH (timescaledb.continuous) AS "
        "SELECT patient, time_bucket('1 hour', ts) AS bucket, avg(mv) AS mv "
        "FROM ts_ecg GROUP BY patient, bucket WITH NO DATA"
    )
    conn.execute("CALL refresh_continuous_aggregate('ts_ecg_hourly', NULL, NULL)")
    buckets = conn.execute("SELECT count(*) FROM ts_ecg_hourly").fetchone()
    assert buckets is not None and buckets[0] > 0

    conn.execute(
        "ALTER TABLE ts_ecg SET (timescaledb.compress, timescaledb.compress_segmentby = 'patient')"
    )
    conn.execute(
        "SELECT compress_chunk(c) FROM show_chunks('ts_ecg', older_than => INTERVAL '2 days') c"
    )
    compressed = conn.execute(
        "SELECT count(*) FROM timescaledb_information.chunks "
        "WHERE hypertable_name = 'ts_ecg' AND is_compressed"
    ).fetchone()
    assert compressed is not None and compressed[0] >= 7
    assert conn.execute("SELECT count(*) FROM ts_ecg").fetchone() == (10 * 48,)

    job = conn.execute("SELECT add_retention_policy('ts_ecg', INTERVAL '5 days')").fetchone()
    assert job is not None
    conn.execute("CALL run_job(%s)", (job[0],))
    oldest = conn.execute("SELECT min(ts) FROM ts_ecg").fetchone()
    assert oldest is not None and oldest[0] >= now - timedelta(days=6)


def test_login_user_and_roles(server: int, conn: psycopg.Connection) -> None:
    conn.execute("CREATE TABLE roles_t (a int)")
    conn.execute("CREATE ROLE ecg_writer LOGIN PASSWORD 'w'")
    conn.execute("CREATE ROLE ecg_reader LOGIN PASSWORD 'r'")
    conn.execute("GRANT SELECT, INSERT ON roles_t TO ecg_writer")
    conn.execute("GRANT SELECT ON roles_t TO ecg_reader")
    with psycopg.connect(dsn(server, user="ecg_writer"), autocommit=True) as w:
        assert w.execute("SELECT current_user").fetchone() == ("ecg_writer",)
        w.execute("INSERT INTO roles_t VALUES (1)")
    with psycopg.connect(dsn(server, user="ecg_reader"), autocommit=True) as r:
        assert r.execute("SELECT current_user").fetchone() == ("ecg_reader",)
        assert r.execute("SELECT count(*) FROM roles_t").fetchone() == (1,)
        with pytest.raises(errors.InsufficientPrivilege):
            r.execute("INSERT INTO roles_t VALUES (2)")
        # the superuser connection interleaved with it still runs as postgres
        assert conn.execute("SELECT current_user").fetchone() == ("postgres",)
        with pytest.raises(errors.InsufficientPrivilege):
            r.execute("DELETE FROM roles_t")
    with psycopg.connect(dsn(server), autocommit=True) as c:
        c.execute("SET ROLE ecg_reader")
        with pytest.raises(errors.InsufficientPrivilege):
            c.execute("INSERT INTO roles_t VALUES (3)")
        c.execute("RESET ROLE")
    with (
        pytest.raises(psycopg.Error, match="ecg_nobody"),
        psycopg.connect(dsn(server, user="ecg_nobody"), autocommit=True) as c,
    ):
        c.execute("SELECT 1")


def test_data_survives_restart(tmp_path: Path) -> None:
    data_dir, log = tmp_path / "data", tmp_path / "server.log"
    port = free_port()
    proc = start_pglite(data_dir, port, log)
    try:
        with psycopg.connect(dsn(port), autocommit=True) as c:
            c.execute("CREATE TABLE kept (ts timestamptz NOT NULL, v smallint[])")
            c.execute("SELECT create_hypertable('kept', by_range('ts'))")
            with c.cursor().copy("COPY kept (ts, v) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(["timestamptz", "int2[]"])
                copy.write_row((T0, [1, 2, 3]))
    finally:
        stop_process(proc)
    proc = start_pglite(data_dir, port, log)
    try:
        with psycopg.connect(dsn(port)) as c:
            assert c.execute("SELECT ts, v FROM kept").fetchall() == [(T0, [1, 2, 3])]
            assert c.execute(
                "SELECT count(*) FROM timescaledb_information.hypertables "
                "WHERE hypertable_name = 'kept'"
            ).fetchone() == (1,)
            # policies need the library loaded before first use on a reopened data dir
            job = c.execute("SELECT add_retention_policy('kept', INTERVAL '1 day')").fetchone()
            assert job is not None
            c.execute("CALL run_job(%s)", (job[0],))
            assert c.execute("SELECT count(*) FROM kept").fetchone() == (0,)
    finally:
        stop_process(proc)
    assert log.read_text().count("READY") == 2
