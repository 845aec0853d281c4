"""The heart-rate job on real services: streaming equals offline, across micro-batch boundaries."""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
import psycopg
import pytest

from ecgdash.qrs import detect_beats
from ingest.records import read_record
from ingest.run import run_ingest
from spark_jobs.hr_job import start_hr_job
from tests.conftest import MITDB, Db

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
    from spark_jobs.raw_writer import start_raw_writer

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
