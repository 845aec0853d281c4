"""The raw path end to end on real services: Tansu -> Spark (our Kafka source) -> database.

Runs on both database modes. Checks every stored sample against the source record (bit-exact),
none doubled, none missing; malformed messages go to the dead-letter topic with their reason;
and a writer killed mid-stream and restarted from its checkpoint still stores exactly once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg
import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from ecgdash.core.clock import us_to_datetime
from ecgdash.core.codec import SampleChunk, encode_samples
from ecgdash.ingest.records import read_record
from ecgdash.ingest.run import run_ingest
from ecgdash.spark_jobs.raw_writer import start_raw_writer
from ecgdash.verify import verify_store
from tests.helpers import MITDB, Db

pytestmark = pytest.mark.integration
RECORDS = ["101", "106", "119"]


def _ingest(broker: str, topic: str, seconds: float, tag: str):
    mapping = {r: f"{r}-{tag}" for r in RECORDS}
    result = run_ingest(str(MITDB), broker, topic, records=RECORDS, seconds=seconds, speed=None,
                        mapping=mapping, show_progress=False)
    assert result.ok
    return result


def _verify(db: Db, result) -> tuple:
    recs = {r: read_record(MITDB / r) for r in RECORDS}
    expected = {s.patient: (s.recording.name, s.n_total) for s in result.streams}
    since = us_to_datetime(result.streams[0].start_us)
    with psycopg.connect(db.reader) as conn:
        return verify_store(conn, recs, expected, since), expected


def _dlq(broker: str, topic: str, n: int, timeout_s: float = 30) -> list:
    c = KafkaConsumer(bootstrap_servers=broker, fetch_max_wait_ms=100)
    tp = TopicPartition(topic, 0)
    c.assign([tp])
    c.seek(tp, 0)
    out: list = []
    deadline = time.monotonic() + timeout_s
    while len(out) < n and time.monotonic() < deadline:
        for batch in c.poll(timeout_ms=500).values():
            out.extend(batch)
    c.close()
    return out


def test_replay_stored_exactly_once_with_dead_letters(db: Db, broker: str, topic: str, spark,
                                                       tmp_path: Path) -> None:
    tag = uuid.uuid4().hex[:6]
    minutes = 3 if db.mode == "postgres" else 2  # the embedded TimescaleDB COPYs ~5 k rows/s
    result = _ingest(broker, topic, minutes * 60, tag)
    # malformed messages, and samples of a patient nobody registered
    bad = KafkaProducer(bootstrap_servers=broker, acks="all")
    rec = result.streams[0].recording
    good = encode_samples(SampleChunk(f"ghost-{tag}", 360.0, 0, 0, rec.adc[:360].T))
    injected = [
        (f"101-{tag}".encode(), b"not an ECG message", "bad magic"),
        (f"106-{tag}".encode(), b"EC", "too short"),
        (f"101-{tag}".encode(), b"EC\x01\x01" + b"\0" * 40, "checksum"),
        (None, good, "missing key"),
        (f"ghost-{tag}".encode(), good, "unknown patient"),
    ]
    for k, v, _ in injected:
        bad.send(topic, key=k, value=v)
    bad.flush()
    bad.close()
    query, writer = start_raw_writer(
        spark, bootstrap=broker, topic=topic, dlq_topic=topic + ".dlq", writer_dsn=db.writer,
        checkpoint=tmp_path / "ck", available_now=True,
    )
    try:
        query.awaitTermination(600)
        assert query.exception() is None
    finally:
        query.stop()
        writer.close()
    v, expected = _verify(db, result)
    sent = sum(n * 2 for _, n in expected.values())
    assert v.samples_stored == sent == 3 * minutes * 60 * 360 * 2
    assert (v.samples_mismatched, v.duplicates, v.missing) == (0, 0, 0)
    letters = _dlq(broker, topic + ".dlq", len(injected))
    reasons = sorted(dict(letters[i].headers)["reason"].decode() for i in range(len(letters)))
    assert len(letters) == len(injected)
    for _, _, why in injected:
        assert any(why in r for r in reasons), (why, reasons)
    with psycopg.connect(db.reader) as conn:
        n_dead = conn.execute(
            "SELECT count(*) FROM dead_letters d JOIN writer_batches b USING (query_id, batch_id)"
            " WHERE d.topic = %s", (topic,)).fetchone()[0]
    assert n_dead == len(injected)


def _writer_proc(db: Db, broker: str, topic: str, ck: Path | str, log: Path, now: bool) -> subprocess.Popen:
    env = {**os.environ, "ECG_DB_MODE": "external", "ECG_DB_ADMIN_DSN": db.admin,
           "ECG_DB_WRITER_DSN": db.writer, "ECG_DB_READER_DSN": db.reader,
           "ECG_KAFKA_BOOTSTRAP": broker, "ECG_TOPIC": topic, "ECG_DLQ_TOPIC": topic + ".dlq",
           "ECG_CHECKPOINT_DIR": str(ck), "ECG_MAX_OFFSETS_PER_TRIGGER": "40",
           "ECG_RAW_TRIGGER_S": "0.5"}
    argv = [sys.executable, "-m", "ecgdash.cli", "spark", "raw-writer"]
    if now:
        argv.append("--available-now")
    return subprocess.Popen(argv, env=env, stdout=open(log, "ab"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def _batches(db: Db, since) -> int:
    with psycopg.connect(db.reader) as conn:
        return conn.execute("SELECT count(*) FROM writer_batches WHERE committed_at >= %s",
                            (since,)).fetchone()[0]


def test_killed_writer_restarts_exactly_once(db: Db, broker: str, topic: str,
                                             tmp_path: Path) -> None:
    tag = uuid.uuid4().hex[:6]
    with psycopg.connect(db.reader) as conn:
        t0 = conn.execute("SELECT now()").fetchone()[0]
    result = _ingest(broker, topic, 60 if db.mode == "timescale" else 120, tag)
    ck = tmp_path / "ck"
    log = tmp_path / "writer.log"
    # one mode gives the checkpoint folder as a URI, as EMR does (hdfs://, s3://): the query id
    # is then read through Spark's Hadoop file system
    setting = ck.as_uri() if db.mode == "postgres" else str(ck)
    proc = _writer_proc(db, broker, topic, setting, log, now=False)
    try:
        deadline = time.monotonic() + 240
        while _batches(db, t0) < 2:
            assert proc.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, "writer made no progress: " + log.read_text()[-3000:]
            time.sleep(0.2)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # abrupt: driver and JVM, mid-stream
        proc.wait()
    partial, _ = _verify(db, result)
    sent = sum(s.n_total * 2 for s in result.streams)
    assert 0 < partial.samples_stored < sent, "the kill should land mid-stream"
    proc = _writer_proc(db, broker, topic, setting, log, now=True)
    assert proc.wait(timeout=600) == 0, log.read_text()[-3000:]
    assert (ck / "raw_writer" / "metadata").is_file()
    v, _ = _verify(db, result)
    assert v.samples_stored == sent
    assert (v.samples_mismatched, v.duplicates, v.missing) == (0, 0, 0)
