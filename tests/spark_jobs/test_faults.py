"""The fault suite on the real local services: each fault while the raw writer runs, then 0
samples lost, 0 doubled, every stored sample equal to its source record. Recovery times (fault
over -> stored again) are printed; bench/soak.py injects them at random for longer.

Faults: the database restarted mid-stream (both modes), the embedded database killed with
SIGKILL, the network to the database stalled and cut (a TCP proxy), the checkpoint disk and the
database disk full (a small tmpfs), the broker restarted on durable storage (Tansu on S3), and a
producer that resends messages (duplicates) and resends other values (conflicts).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import boto3
import numpy as np
import psycopg
import pytest
from kafka import KafkaProducer

from ecgdash.core.codec import SampleChunk, encode_samples
from ecgdash.core.kafka import ensure_topics
from ecgdash.devstack.broker import tansu_binary
from ecgdash.devstack.procs import LOCALHOST, free_port, spawn, stop_pid, wait_port
from ecgdash.ingest.run import run_ingest
from ecgdash.spark_jobs.raw_writer import start_raw_writer
from tests.helpers import MITDB
from tests.helpers.faults import TcpProxy, fill, small_filesystem
from tests.helpers.pipeline import PrivateDb, ledger_replays, verify, wait_stored

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def scratch() -> Path:
    """A folder outside pytest's temp root, which a concurrent pytest session may make
    untraversable for the database's own system user (see tests/conftest.py)."""
    d = Path(tempfile.mkdtemp(prefix="ecgdash-fault-"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


def _ingest(broker: str, topic: str, tag: str, seconds: float = 20, records=("101", "106")):
    res = run_ingest(str(MITDB), broker, topic, records=list(records), seconds=seconds, speed=None,
                     mapping={r: f"{r}-{tag}" for r in records}, show_progress=False)
    assert res.ok
    return res


def _assert_exact(db, results, since) -> None:
    v = verify(db, results)
    want = sum(s.n_total * len(s.recording.signals) for r in results for s in r.streams)
    assert (v.samples_stored, v.samples_mismatched, v.duplicates, v.missing) == (want, 0, 0, 0)
    assert ledger_replays(db, since) == 0


def _writer(spark, broker, topic, dsn, ck):
    return start_raw_writer(spark, bootstrap=broker, topic=topic, dlq_topic=topic + ".dlq",
                            writer_dsn=dsn, checkpoint=ck, trigger_s=0.5, max_offsets_per_trigger=40)


def _now(db) -> object:
    with psycopg.connect(db.reader) as conn:
        return conn.execute("SELECT now()").fetchone()[0]


@pytest.mark.parametrize("mode,how", [("postgres", "restart"), ("timescale", "restart"),
                                      ("timescale", "sigkill")])
def test_database_restarted_or_killed_mid_stream(mode: str, how: str, broker: str, topic: str,
                                                 spark, tmp_path: Path, scratch: Path) -> None:
    pdb = PrivateDb(mode, scratch / "db")
    db = pdb.start()
    t0 = _now(db)
    tag = uuid.uuid4().hex[:6]
    q, w = _writer(spark, broker, topic, db.writer, tmp_path / "ck")
    try:
        first = _ingest(broker, topic, tag + "a")
        wait_stored(db, [first], 300, q)
        pdb.kill() if how == "sigkill" else pdb.stop()
        second = _ingest(broker, topic, tag + "b")  # arrives while the database is away
        time.sleep(3)  # the writer's batches meet the outage and wait it out
        pdb.start()
        back = time.monotonic()
        wait_stored(db, [first, second], 300, q)
        print(f"\n{mode} {how}: stored again {time.monotonic() - back:.1f} s after the database was back")
        assert q.exception() is None
    finally:
        q.stop()
        w.close()
        _assert_exact(db, [first, second], t0)
        pdb.stop()


def test_network_to_database_stalled_then_cut(broker: str, topic: str, spark, tmp_path: Path,
                                              scratch: Path) -> None:
    pdb = PrivateDb("postgres", scratch / "db")
    db = pdb.start()
    t0 = _now(db)
    proxy = TcpProxy(pdb.port)
    via = db.writer.replace(f":{pdb.port}/", f":{proxy.port}/")
    tag = uuid.uuid4().hex[:6]
    q, w = _writer(spark, broker, topic, via, tmp_path / "ck")
    try:
        first = _ingest(broker, topic, tag + "a")
        wait_stored(db, [first], 300, q)
        proxy.pause()  # packets held: the writer's statement waits on a silent socket
        second = _ingest(broker, topic, tag + "b")
        time.sleep(8)
        proxy.resume()
        wait_stored(db, [first, second], 300, q)
        proxy.cut()  # every connection reset under the writer
        third = _ingest(broker, topic, tag + "c")
        back = time.monotonic()
        wait_stored(db, [first, second, third], 300, q)
        print(f"\nnetwork cut: stored again after {time.monotonic() - back:.1f} s")
        assert q.exception() is None
    finally:
        q.stop()
        w.close()
        proxy.close()
        _assert_exact(db, [first, second, third], t0)
        pdb.stop()


def _cli_writer(db, broker, topic, ck: Path, log: Path) -> subprocess.Popen:
    env = {**os.environ, "ECG_DB_MODE": "external", "ECG_DB_WRITER_DSN": db.writer,
           "ECG_DB_READER_DSN": db.reader, "ECG_DB_ADMIN_DSN": db.admin,
           "ECG_KAFKA_BOOTSTRAP": broker, "ECG_TOPIC": topic, "ECG_DLQ_TOPIC": topic + ".dlq",
           "ECG_CHECKPOINT_DIR": str(ck), "ECG_MAX_OFFSETS_PER_TRIGGER": "40",
           "ECG_RAW_TRIGGER_S": "0.5", "ECG_RESTART_BACKOFF_MAX_S": "10"}
    return subprocess.Popen([sys.executable, "-m", "ecgdash.cli", "spark", "raw-writer"], env=env,
                            stdout=open(log, "ab"), stderr=subprocess.STDOUT, start_new_session=True)


def test_checkpoint_disk_full(broker: str, topic: str, pg_native, tmp_path: Path) -> None:
    """The checkpoint's disk fills up: the query fails, `ecgdash spark` restarts it with backoff
    until there is room again, and it goes on from its checkpoint, exactly once."""
    db = pg_native
    t0 = _now(db)
    tag = uuid.uuid4().hex[:6]
    log = tmp_path / "writer.log"
    try:
        fs_cm = small_filesystem(tmp_path / "ckfs", 8)
        ckfs = fs_cm.__enter__()
    except OSError as exc:
        pytest.skip(str(exc))
    proc = _cli_writer(db, broker, topic, ckfs / "ck", log)
    try:
        first = _ingest(broker, topic, tag + "a")
        wait_stored(db, [first], 300)
        ballast = fill(ckfs)
        second = _ingest(broker, topic, tag + "b")
        deadline = time.monotonic() + 120
        while "restarting in" not in log.read_text() and time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()[-3000:]
            time.sleep(0.5)
        assert "restarting in" in log.read_text(), log.read_text()[-3000:]
        ballast.unlink()
        back = time.monotonic()
        wait_stored(db, [first, second], 300)
        print(f"\ncheckpoint disk full: stored again {time.monotonic() - back:.1f} s after space returned")
        assert proc.poll() is None
    finally:
        stop_pid(proc.pid)
        fs_cm.__exit__(None, None, None)
    _assert_exact(db, [first, second], t0)


def test_database_disk_full(broker: str, topic: str, spark, tmp_path: Path, scratch: Path) -> None:
    """The database's disk fills up: writes fail (or the server stops, as PostgreSQL does when it
    cannot write WAL), the writer waits it out; space back (and the server restarted, as its
    service manager would) it goes on, exactly once."""
    try:
        fs_cm = small_filesystem(scratch / "dbfs", 300)
        dbfs = fs_cm.__enter__()
    except OSError as exc:
        pytest.skip(str(exc))
    pdb = PrivateDb("postgres", dbfs / "db")
    try:
        db = pdb.start()
        t0 = _now(db)
        tag = uuid.uuid4().hex[:6]
        q, w = _writer(spark, broker, topic, db.writer, tmp_path / "ck")
        try:
            first = _ingest(broker, topic, tag + "a")
            wait_stored(db, [first], 300, q)
            ballast = fill(dbfs, leave_bytes=64 * 1024)
            second = _ingest(broker, topic, tag + "b", seconds=60)
            time.sleep(10)
            ballast.unlink()
            if pdb.proc is not None and pdb.proc.poll() is not None:
                pdb.proc = None
                pdb.start()  # PostgreSQL stops when WAL cannot be written; systemd restarts it
            back = time.monotonic()
            wait_stored(db, [first, second], 300, q)
            print(f"\ndatabase disk full: stored again {time.monotonic() - back:.1f} s after space returned")
            assert q.exception() is None
        finally:
            q.stop()
            w.close()
        _assert_exact(db, [first, second], t0)
    finally:
        pdb.stop()
        fs_cm.__exit__(None, None, None)


def test_broker_restarted_on_durable_storage(s3_endpoint: str, spark, pg_native, tmp_path: Path) -> None:
    """Tansu on S3 storage (moto_server), killed and restarted mid-replay: the messages and the
    writer's position survive, nothing is lost or doubled."""
    db = pg_native
    bucket = f"tansu-{uuid.uuid4().hex[:8]}"
    boto3.client("s3").create_bucket(Bucket=bucket)
    port = free_port()
    url = f"tcp://{LOCALHOST}:{port}"
    env = {"AWS_ENDPOINT": s3_endpoint, "AWS_ALLOW_HTTP": "true", "AWS_ACCESS_KEY_ID": "test",
           "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1"}

    def broker_up(log: Path):
        proc = spawn([str(tansu_binary()), "broker", "--listener-url", url,
                      "--advertised-listener-url", url, "--storage-engine", f"s3://{bucket}/"],
                     log, env={**os.environ, **env})
        wait_port(LOCALHOST, port, 30, proc, log)
        return proc

    bootstrap = f"{LOCALHOST}:{port}"
    topic = f"ecg.durable.{uuid.uuid4().hex[:6]}"
    t0 = _now(db)
    tag = uuid.uuid4().hex[:6]
    proc = broker_up(tmp_path / "b1.log")
    ensure_topics(bootstrap, {topic: 2, topic + ".dlq": 1})
    q, w = _writer(spark, bootstrap, topic, db.writer, tmp_path / "ck")
    try:
        first = _ingest(bootstrap, topic, tag + "a", seconds=15)
        time.sleep(2)  # mid-stream: the writer is reading
        os.killpg(proc.pid, 9)
        proc.wait()
        time.sleep(2)
        proc = broker_up(tmp_path / "b2.log")
        back = time.monotonic()
        second = _ingest(bootstrap, topic, tag + "b", seconds=15)
        wait_stored(db, [first, second], 300, q)
        print(f"\nbroker restart: stored again {time.monotonic() - back:.1f} s after it was back")
    finally:
        q.stop()
        w.close()
        stop_pid(proc.pid)
    _assert_exact(db, [first, second], t0)


def test_producer_resends_duplicates_and_conflicting_values(broker: str, topic: str, spark,
                                                            pg_native, tmp_path: Path) -> None:
    """A producer retry (the same message twice) is stored once and counted as a duplicate; a
    resend with other values keeps the first values and is counted as a conflict."""
    db = pg_native
    t0 = _now(db)
    tag = uuid.uuid4().hex[:6]
    first = _ingest(broker, topic, tag, seconds=10, records=("101",))
    s = first.streams[0]
    rec = s.recording
    prod = KafkaProducer(bootstrap_servers=broker, acks="all")
    same = encode_samples(SampleChunk(s.patient, rec.fs, s.start_us, 360, rec.adc[360:720].T.copy()))
    other = encode_samples(SampleChunk(s.patient, rec.fs, s.start_us, 720,
                                       np.ones((2, 360), np.int16)))
    for v in (same, same, other):
        prod.send(topic, key=s.patient.encode(), value=v)
    prod.flush()
    prod.close()
    q, w = start_raw_writer(spark, bootstrap=broker, topic=topic, dlq_topic=topic + ".dlq",
                            writer_dsn=db.writer, checkpoint=tmp_path / "ck", available_now=True)
    q.awaitTermination(600)
    w.close()
    assert q.exception() is None
    _assert_exact(db, [first], t0)
    with psycopg.connect(db.reader) as conn:
        dup, con = conn.execute("SELECT sum(duplicates_skipped), sum(conflicts) FROM writer_batches "
                                "WHERE committed_at >= %s AND query_name = 'raw_writer' AND query_id IN "
                                "(SELECT query_id FROM sample_conflicts WHERE patient_id = %s)",
                                (t0, s.patient)).fetchone()
    assert (dup, con) == (4, 2)  # 2 resends x 2 leads; 1 conflicting message x 2 leads


