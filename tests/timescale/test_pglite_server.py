"""The embedded TimescaleDB server (timescale/pglite_server) over the wire, from psycopg.

A real Node server is started on a free port with its data dir in a tmp folder; nothing is
mocked. Every test uses its own tables, so the tests share one server.
"""

from __future__ import annotations

import os
import socket
import struct
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from psycopg import errors

from ecgdash.devstack.pglite import start_pglite, stop_process
from ecgdash.devstack.procs import LOCALHOST, free_port

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


# A long pipeline: PGlite drops whatever follows a message ending on an 8 kB boundary of one
# call's input unless the server cuts the pipeline into calls; executemany then hung forever.
BEAT_ROWS = 5000


def beat_rows(n: int) -> list[tuple[str, datetime, int, float, float, str, float]]:
    return [
        (f"rec{i % 7}", T0 + timedelta(milliseconds=137 * i), i, 0.5 * i, 72.25, "N" * (i % 5), 0.9)
        for i in range(n)
    ]


@pytest.mark.parametrize(
    "prepare_threshold", [None, 5], ids=["unprepared", "default_prepare_threshold"]
)
def test_executemany_thousands_of_rows_in_a_transaction(
    server: int, prepare_threshold: int | None
) -> None:
    table = f"beats_{'np' if prepare_threshold is None else 'prep'}"
    rows = beat_rows(BEAT_ROWS)
    with psycopg.connect(
        dsn(server), autocommit=True, prepare_threshold=prepare_threshold
    ) as c:
        c.execute(
            f"CREATE TABLE {table} (record text, ts timestamptz, idx bigint, rr real, hr real, "
            "label text, quality real, PRIMARY KEY (record, ts))"
        )
        insert = (
            f"INSERT INTO {table} VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING"
        )
        started = time.monotonic()
        with c.transaction(), c.cursor() as cur:
            cur.executemany(insert, rows)
            # again, all conflicting: nothing inserted, nothing lost
            cur.executemany(insert, rows[: BEAT_ROWS // 2])
        assert time.monotonic() - started < 60
        got = c.execute(
            f"SELECT record, ts, idx, rr, hr, label, quality FROM {table} ORDER BY idx"
        ).fetchall()
        assert got == rows
        # the connection (and the session other clients share) is still in a sane state
        assert c.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    with psycopg.connect(dsn(server), autocommit=True) as other:
        assert other.execute(f"SELECT count(*) FROM {table}").fetchone() == (BEAT_ROWS,)


def test_pipeline_with_many_queries(conn: psycopg.Connection) -> None:
    conn.execute("CREATE TABLE piped (i int PRIMARY KEY, sq bigint, note text)")
    n = 3000
    with conn.pipeline() as p, conn.cursor() as cur:
        selects = []
        for i in range(n):
            cur.execute("INSERT INTO piped VALUES (%s, %s, %s)", (i, i * i, "x" * (i % 50)))
            if i % 100 == 99:
                c2 = conn.cursor()
                c2.execute("SELECT count(*), sum(sq) FROM piped WHERE i <= %s", (i,))
                selects.append((i, c2))
            if i % 1000 == 999:
                p.sync()
    for i, c2 in selects:
        assert c2.fetchone() == (i + 1, sum(k * k for k in range(i + 1)))
    assert conn.execute("SELECT count(*) FROM piped").fetchone() == (n,)


def test_pipeline_error_skips_to_sync_and_later_syncs_run(conn: psycopg.Connection) -> None:
    conn.execute("CREATE TABLE piped_err (i int PRIMARY KEY)")
    # a Sync every 100 inserts; from row 1500 on every segment fails on its first insert
    with pytest.raises(errors.UniqueViolation), conn.pipeline() as p:
        for i in range(2000):
            conn.execute("INSERT INTO piped_err VALUES (%s)", (i % 1500,))
            if i % 100 == 99:
                p.sync()
    assert conn.execute("SELECT count(*) FROM piped_err").fetchone() == (1500,)


class RawClient:
    """A bare wire-protocol client: writes exact bytes, counts the answers' message types."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection((LOCALHOST, port), timeout=30)
        params = b"user\0postgres\0database\0ecg\0\0"
        self.sock.sendall(struct.pack("!ii", 8 + len(params), 196608) + params)
        self.buf = b""
        self.read_until_ready(1)

    @staticmethod
    def msg(kind: bytes, body: bytes = b"") -> bytes:
        return kind + struct.pack("!i", 4 + len(body)) + body

    def read_until_ready(self, n_ready: int) -> dict[str, int]:
        """Read messages until the n-th ReadyForQuery; returns counts by message type."""
        counts: dict[str, int] = {}
        while counts.get("Z", 0) < n_ready:
            while len(self.buf) < 5 or len(self.buf) < 1 + struct.unpack("!i", self.buf[1:5])[0]:
                chunk = self.sock.recv(1 << 16)
                assert chunk, f"server closed the connection after {counts}"
                self.buf += chunk
            size = 1 + struct.unpack("!i", self.buf[1:5])[0]
            kind = chr(self.buf[0])
            counts[kind] = counts.get(kind, 0) + 1
            self.buf = self.buf[size:]
        return counts

    def close(self) -> None:
        self.sock.sendall(self.msg(b"X"))
        self.sock.close()


def parse_of_size(size: int, sql: str = "SELECT 1") -> bytes:
    """An unnamed Parse message of exactly `size` bytes (the query padded with spaces)."""
    pad = size - (5 + 1 + len(sql) + 1 + 2)
    return RawClient.msg(b"P", b"\0" + sql.encode() + b" " * pad + b"\0\0\0")


def test_pipeline_messages_ending_on_8k_boundaries_are_all_answered(server: int) -> None:
    # 64-byte messages: every 128th one ends exactly on an 8 kB boundary
    client = RawClient(server)
    try:
        n = 1000
        client.sock.sendall(b"".join(parse_of_size(64) for _ in range(n)) + client.msg(b"S"))
        assert client.read_until_ready(1) == {"1": n, "Z": 1}
        # messages of exactly 8 kB, then a large one
        client.sock.sendall(
            b"".join(parse_of_size(8192) for _ in range(3))
            + parse_of_size(20000)
            + client.msg(b"S")
        )
        assert client.read_until_ready(1) == {"1": 4, "Z": 1}
    finally:
        client.close()


def test_many_failing_syncs_in_one_write(server: int, conn: psycopg.Connection) -> None:
    # one error per Sync; PGlite traps after 9 errors in a single call
    client = RawClient(server)
    try:
        n = 30
        bad = parse_of_size(64, "SELECT no_such_column")
        bind, execute = client.msg(b"B", b"\0\0" + b"\0\0" * 3), client.msg(b"E", b"\0\0\0\0\0")
        client.sock.sendall((bad + bind + execute + client.msg(b"S")) * n)
        assert client.read_until_ready(n) == {"E": n, "Z": n}
    finally:
        client.close()
    assert conn.execute("SELECT 1").fetchone() == (1,)


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


@pytest.mark.parametrize("statement", [
    "SET SESSION AUTHORIZATION postgres",
    "set  session\n authorization DEFAULT",
    "RESET SESSION AUTHORIZATION",
    "SELECT set_config('session_authorization', 'postgres', false)",
    "DISCARD ALL",
    "/* c */ SET SESSION AUTHORIZATION postgres",
])
@pytest.mark.parametrize("extended", [False, True])
def test_login_role_cannot_switch_to_the_superuser(server: int, conn: psycopg.Connection,
                                                    statement: str, extended: bool) -> None:
    """PGlite's session belongs to the superuser, so a role switch would make any login
    postgres: the server refuses it for every login but postgres's, over both protocols."""
    conn.execute("DO $$ BEGIN CREATE ROLE ecg_switcher LOGIN; EXCEPTION WHEN duplicate_object "
                 "THEN NULL; END $$")
    with psycopg.connect(dsn(server, user="ecg_switcher"), autocommit=True) as c:
        with pytest.raises(psycopg.Error, match="role switches are refused"):
            c.execute(statement, prepare=extended) if extended else c.execute(statement)
        assert c.execute("SELECT current_user, session_user").fetchone() == (
            "ecg_switcher", "ecg_switcher")
    # the superuser itself may (the server does it when the session passes between logins)
    conn.execute("SET SESSION AUTHORIZATION ecg_switcher")
    conn.execute("RESET SESSION AUTHORIZATION")


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
