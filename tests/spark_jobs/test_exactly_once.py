"""Exactly once, proven: a committed batch replayed through the writer is skipped and publishes
nothing again; a job killed after its database commit and before Spark's checkpoint commit
really replays that batch on restart, and the ledger really skips it; offsets that vanish from
the topic stop the query, or with failOnDataLoss=false are recorded as a gap."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg
import pytest
from kafka import KafkaConsumer, TopicPartition
from pyspark.errors import StreamingQueryException

from ecgdash.core.clock import us_to_datetime
from ecgdash.core.codec import PatientMeta, SignalMeta, encode_meta
from ecgdash.core.kafka import ensure_topics
from ecgdash.devstack.broker import start_broker
from ecgdash.devstack.procs import LOCALHOST, free_port, stop_pid
from ecgdash.ingest.records import read_record
from ecgdash.ingest.run import run_ingest
from ecgdash.spark_jobs.raw_writer import RawWriter, start_raw_writer
from ecgdash.timescale.dead_letters import DeadLetter
from ecgdash.timescale.ledger import BatchKey
from ecgdash.timescale.waveform import Batch
from ecgdash.verify import verify_store
from tests.helpers import MITDB, Db

pytestmark = pytest.mark.integration


def _count(broker: str, topic: str) -> int:
    c = KafkaConsumer(bootstrap_servers=broker, fetch_max_wait_ms=100)
    tp = TopicPartition(topic, 0)
    c.assign([tp])
    c.seek(tp, 0)
    n, deadline = 0, time.monotonic() + 5
    while time.monotonic() < deadline:
        n += sum(len(b) for b in c.poll(timeout_ms=300).values())
    c.close()
    return n


def test_committed_batch_replayed_is_skipped_and_republishes_nothing(db: Db, broker: str,
                                                                     topic: str, tmp_path: Path) -> None:
    p = f"replay-{uuid.uuid4().hex[:8]}"
    meta = PatientMeta(p, "101", 360.0, 1_714_000_000_000_000, 0, 650_000,
                       (SignalMeta("MLII", 200.0, 1024, 11, 1024),))
    batch = Batch(metas=[(meta, DeadLetter(topic, 0, 0, p.encode(), encode_meta(meta)))],
                  dead=[DeadLetter(topic, 0, 1, p.encode(), b"junk", "bad magic b'ju'")],
                  messages=2, offsets={0: (0, 1)})
    writer = RawWriter(db.writer, broker, topic + ".dlq", tmp_path)
    key = BatchKey(f"q-{uuid.uuid4().hex}", "raw_writer", 7)
    try:
        first = writer._write(key, batch)
        assert first is not None and len(first.dead) == 1
        assert _count(broker, topic + ".dlq") == 1
        assert writer._write(key, batch) is None  # "already committed"
        assert _count(broker, topic + ".dlq") == 1  # nothing published again
    finally:
        writer.close()


def _cli(db: Db, broker: str, topic: str, ck: Path, job: str, log: Path, extra: dict[str, str],
         now: bool) -> subprocess.Popen:
    env = {**os.environ, "ECG_DB_MODE": "external", "ECG_DB_ADMIN_DSN": db.admin,
           "ECG_DB_WRITER_DSN": db.writer, "ECG_DB_READER_DSN": db.reader,
           "ECG_KAFKA_BOOTSTRAP": broker, "ECG_TOPIC": topic, "ECG_DLQ_TOPIC": topic + ".dlq",
           "ECG_CHECKPOINT_DIR": str(ck), "ECG_MAX_OFFSETS_PER_TRIGGER": "20",
           "ECG_RAW_TRIGGER_S": "0.5", "ECG_HR_TRIGGER_S": "5", **extra}
    argv = [sys.executable, "-m", "ecgdash.cli", "spark", job] + (["--available-now"] if now else [])
    return subprocess.Popen(argv, env=env, stdout=open(log, "ab"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def _ledger(db: Db, name: str, since) -> list[tuple[str, int]]:
    with psycopg.connect(db.reader) as conn:
        return conn.execute("SELECT query_id, batch_id FROM writer_batches WHERE query_name = %s "
                            "AND committed_at >= %s ORDER BY committed_at", (name, since)).fetchall()


@pytest.mark.slow
def test_killed_between_database_commit_and_checkpoint_replays_and_skips(
        db: Db, broker: str, topic: str, tmp_path: Path) -> None:
    tag = uuid.uuid4().hex[:6]
    with psycopg.connect(db.reader) as conn:
        t0 = conn.execute("SELECT now()").fetchone()[0]
    result = run_ingest(str(MITDB), broker, topic, records=["101", "106"], seconds=30, speed=None,
                        mapping={"101": f"101-{tag}", "106": f"106-{tag}"}, show_progress=False)
    assert result.ok
    ck, log = tmp_path / "ck", tmp_path / "writer.log"
    proc = _cli(db, broker, topic, ck, "raw-writer", log, {"ECG_FAULT_EXIT_AFTER_COMMIT": "1"}, now=False)
    assert proc.wait(timeout=600) == 137, log.read_text()[-3000:]
    before = _ledger(db, "raw_writer", t0)
    assert [b for _, b in before] == [0, 1]  # batch 1 is committed; Spark never recorded it
    proc = _cli(db, broker, topic, ck, "raw-writer", log, {}, now=True)
    assert proc.wait(timeout=600) == 0, log.read_text()[-3000:]
    text = log.read_text()
    assert "batch 1 of raw_writer already committed: skipped (replay)" in text, text[-3000:]
    after = _ledger(db, "raw_writer", t0)
    ids = [b for _, b in after]
    assert ids.count(1) == 1 and ids[:2] == [0, 1] and len({q for q, _ in after}) == 1
    recs = {r: read_record(MITDB / r) for r in ("101", "106")}
    expected = {s.patient: (s.recording.name, s.n_total) for s in result.streams}
    with psycopg.connect(db.reader) as conn:
        v = verify_store(conn, recs, expected, us_to_datetime(result.streams[0].start_us))
    assert v.samples_stored == 2 * 30 * 360 * 2
    assert (v.samples_mismatched, v.duplicates, v.missing) == (0, 0, 0)


@pytest.mark.slow
def test_offsets_gone_stop_the_query_or_are_recorded(pg_native: Db, spark, tmp_path: Path) -> None:
    """An in-memory broker restarted: the topic comes back empty, its high watermark behind the
    checkpoint. Default: the query stops with DataLossError. failOnDataLoss=false: the new data
    is read from the start of the new log and the gap is recorded with the batch."""
    db = pg_native
    port = free_port()
    bootstrap = f"{LOCALHOST}:{port}"
    topic = f"ecg.loss.{uuid.uuid4().hex[:6]}"
    tag = uuid.uuid4().hex[:6]
    ck = tmp_path / "ck"

    def run(fail: bool, seconds: int, name: str):
        ensure_topics(bootstrap, {topic: 2, topic + ".dlq": 1})
        res = run_ingest(str(MITDB), bootstrap, topic, records=["101"], seconds=seconds, speed=None,
                         mapping={"101": f"{name}-{tag}"}, show_progress=False)
        q, w = start_raw_writer(spark, bootstrap=bootstrap, topic=topic, dlq_topic=topic + ".dlq",
                                writer_dsn=db.writer, checkpoint=ck, available_now=True,
                                fail_on_data_loss=fail)
        try:
            try:
                q.awaitTermination(600)
            except StreamingQueryException as exc:
                return res, exc
            return res, q.exception()
        finally:
            q.stop()
            w.close()

    proc = start_broker(port, tmp_path / "b1.log")
    try:
        first, err = run(True, 30, "before")
        assert err is None
    finally:
        stop_pid(proc.pid)
    proc = start_broker(port, tmp_path / "b2.log")  # in-memory: every offset is gone
    try:
        lost_run, err = run(True, 10, "after1")
        assert err is not None and "DataLossError" in str(err) and "beyond the end" in str(err)
        second, err = run(False, 10, "after2")
        assert err is None
    finally:
        stop_pid(proc.pid)
    with psycopg.connect(db.reader) as conn:
        gaps = conn.execute("SELECT kafka_partition, from_offset, to_offset, reason FROM data_loss_gaps "
                            "WHERE topic = %s", (topic,)).fetchall()
        rec = {"101": read_record(MITDB / "101")}
        # both replays on the new log are read from its start: the one the stopped query never
        # got to, and the one after
        streams = lost_run.streams + second.streams
        v = verify_store(conn, rec, {s.patient: ("101", s.n_total) for s in streams},
                         us_to_datetime(min(s.start_us for s in streams)))
    assert gaps and all(f > t and "beyond the end" in r for _, f, t, r in gaps), gaps
    assert v.samples_stored == 2 * 10 * 360 * 2 and v.missing == 0 and v.duplicates == 0
