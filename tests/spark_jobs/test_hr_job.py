"""The heart-rate job on real services: streaming equals offline, across micro-batch boundaries."""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
import psycopg
import pytest

from ecgdash.core.qrs import detect_beats
from ecgdash.ingest.records import read_record
from ecgdash.ingest.run import run_ingest
from ecgdash.spark_jobs.hr_job import start_hr_job
from tests.helpers import MITDB, Db

pytestmark = pytest.mark.integration


def test_streaming_beats_equal_offline(db: Db, broker: str, topic: str, spark,
                                       tmp_path: Path) -> None:
    """Beats stored by the job over a replayed record are the offline detector's sample indices.

    The job runs in many small micro-batches (30 messages each), so beats fall on batch
    boundaries; the last ~3 s are not final until more signal arrives and are left out.
    """
    tag = uuid.uuid4().hex[:6]
    seconds = 150
    result = run_ingest(str(MITDB), broker, topic, records=["119", "208"], seconds=seconds,
                        speed=None, mapping={"119": f"119-{tag}", "208": f"208-{tag}"},
                        show_progress=False)
    assert result.ok
    # the job needs the patients registered; the raw writer does that in the pipeline
    from ecgdash.spark_jobs.raw_writer import start_raw_writer

    q, w = start_raw_writer(spark, bootstrap=broker, topic=topic, dlq_topic=topic + ".dlq",
                            writer_dsn=db.writer, checkpoint=tmp_path / "raw", available_now=True)
    q.awaitTermination(600)
    w.close()
    query, writer = start_hr_job(spark, bootstrap=broker, topic=topic, writer_dsn=db.writer,
                                 checkpoint=tmp_path / "hr", available_now=True,
                                 max_offsets_per_trigger=30)
    try:
        query.awaitTermination(900)
        assert query.exception() is None
    finally:
        query.stop()
        writer.close()
    fs = 360
    with psycopg.connect(db.reader) as conn:
        for rec_name in ("119", "208"):
            rec = read_record(MITDB / rec_name)
            offline = detect_beats(rec.adc[: seconds * fs].astype(float), fs)
            offline = offline[offline < (seconds - 3) * fs]
            rows = conn.execute(
                "SELECT sample_index, hr_bpm FROM beats WHERE patient_id = %s AND sample_index < %s"
                " ORDER BY sample_index", (f"{rec_name}-{tag}", (seconds - 3) * fs)).fetchall()
            stored = np.array([r[0] for r in rows])
            assert len(stored) > 100
            assert np.array_equal(stored, offline)
            hr = conn.execute(
                "SELECT sum(beats), min(hr_min), max(hr_max), sum(valid_s) FROM hr_1m "
                "WHERE patient_id = %s", (f"{rec_name}-{tag}",)).fetchone()
            assert hr[0] >= len(stored)
            assert 20 < hr[1] <= hr[2] < 300
            assert hr[3] > 60


def _hr_batches(db: Db) -> int:
    with psycopg.connect(db.reader) as conn:
        return conn.execute("SELECT count(*) FROM writer_batches WHERE query_name = 'hr_job' "
                            "AND messages > 0 AND committed_at > now() - interval '10 minutes'"
                            ).fetchone()[0]  # fmt: skip


def test_killed_hr_job_restarts_exactly_once(db: Db, broker: str, topic: str, spark,
                                             tmp_path: Path) -> None:
    """`ecgdash spark hr-job` killed (SIGKILL) mid-stream and restarted from its checkpoint: the
    stored beats are still exactly the offline detector's, none doubled or lost (the detector
    state comes back from Spark's state store, the ledger skips a replayed batch)."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from ecgdash.spark_jobs.raw_writer import start_raw_writer

    tag = uuid.uuid4().hex[:6]
    seconds, fs = (120 if db.mode == "postgres" else 90), 360
    patient = f"119-{tag}"
    assert run_ingest(str(MITDB), broker, topic, records=["119"], seconds=seconds, speed=None,
                      mapping={"119": patient}, show_progress=False).ok
    q, w = start_raw_writer(spark, bootstrap=broker, topic=topic, dlq_topic=topic + ".dlq",
                            writer_dsn=db.writer, checkpoint=tmp_path / "raw", available_now=True)
    q.awaitTermination(600)
    w.close()
    before = _hr_batches(db)
    env = {**os.environ, "ECG_DB_MODE": "external", "ECG_DB_ADMIN_DSN": db.admin,
           "ECG_DB_WRITER_DSN": db.writer, "ECG_DB_READER_DSN": db.reader,
           "ECG_KAFKA_BOOTSTRAP": broker, "ECG_TOPIC": topic, "ECG_CHECKPOINT_DIR": str(tmp_path / "ck"),
           "ECG_MAX_OFFSETS_PER_TRIGGER": "12", "ECG_HR_TRIGGER_S": "5"}  # fmt: skip
    log = tmp_path / "hr.log"
    argv = [sys.executable, "-m", "ecgdash.cli", "spark", "hr-job"]
    with open(log, "ab") as out:
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while _hr_batches(db) < before + 2:
            assert proc.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, "hr job made no progress: " + log.read_text()[-3000:]
            time.sleep(0.2)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    with psycopg.connect(db.reader) as conn:
        partial = conn.execute("SELECT count(*) FROM beats WHERE patient_id = %s", (patient,)).fetchone()[0]
    assert 0 < partial < 0.8 * seconds, "the kill should land mid-stream"
    with open(log, "ab") as out:
        done = subprocess.run([*argv, "--available-now"], env=env, stdout=out,
                              stderr=subprocess.STDOUT, timeout=600)
    assert done.returncode == 0, log.read_text()[-3000:]
    offline = detect_beats(read_record(MITDB / "119").adc[: seconds * fs].astype(float), fs)
    offline = offline[offline < (seconds - 3) * fs]
    with psycopg.connect(db.reader) as conn:
        stored = np.array([r[0] for r in conn.execute(
            "SELECT sample_index FROM beats WHERE patient_id = %s AND sample_index < %s "
            "ORDER BY sample_index", (patient, (seconds - 3) * fs)).fetchall()])  # fmt: skip
    assert stored.size > 60
    np.testing.assert_array_equal(stored, offline)
