"""Poison messages while both jobs run (issue 10's classes, each by name), on both modes.

Each class once got past ``decode()`` and then failed a later stage, stopping the raw writer and
the heart-rate job for every patient on the topic. Now each ends in the dead-letter table with
its reason (or, for a valid signal the detector cannot analyse, stored with "HR not computed"),
and the good patients' samples and beats after it are stored exactly; the jobs never exit.
"""

from __future__ import annotations

import json
import struct
import uuid
import zlib
from pathlib import Path

import numpy as np
import psycopg
import pytest
from kafka import KafkaProducer

from ecgdash.core.clock import us_to_datetime
from ecgdash.core.codec import PatientMeta, SampleChunk, SignalMeta, encode_meta, encode_samples
from ecgdash.core.qrs import detect_beats
from ecgdash.ingest.records import read_record
from ecgdash.ingest.run import run_ingest
from ecgdash.spark_jobs.alarm_job import start_alarm_job
from ecgdash.spark_jobs.hr_job import start_hr_job
from ecgdash.spark_jobs.raw_writer import start_raw_writer
from ecgdash.verify import verify_store
from tests.helpers import MITDB, Db

pytestmark = pytest.mark.integration
SECONDS = 60
START_US = 1_714_000_000_000_000


def _meta_doc(patient: str, **changes: object) -> bytes:
    m = PatientMeta(patient, "101", 360.0, START_US, 0, 650_000,
                    (SignalMeta("MLII", 200.0, 1024, 11, 1024), SignalMeta("V1", 200.0, 1024, 11, 1024)))
    doc = json.loads(encode_meta(m)[4:-4])
    for k, v in changes.items():
        if k.startswith("sig_"):
            doc["signals"][0][k[4:]] = v
        else:
            doc[k] = v
    return _signed(json.dumps(doc).encode())


def _signed(text: bytes, head: bytes = b"EC\x01\x02") -> bytes:
    body = head + text
    return body + struct.pack("<I", zlib.crc32(body))


def _chunk(patient: str, fs: float = 360.0, start_us: int = START_US, first: int = 0,
           n: int = 360) -> bytes:
    return encode_samples(SampleChunk(patient, fs, start_us, first, np.zeros((2, n), np.int16)))


@pytest.mark.parametrize("beats_job", ["alarm-job", "hr-job"])
def test_poison_messages_never_stop_the_jobs(db: Db, broker: str, topic: str, spark,
                                             tmp_path: Path, beats_job: str) -> None:
    """The raw writer and the job that stores the beats (the alarm job, the default, or the
    heart-rate job) read every hostile message; both keep running and the good data is whole."""
    tag = uuid.uuid4().hex[:6]
    good = {"119": f"119-{tag}", "208": f"208-{tag}"}
    victim = good["119"]  # poison under a good patient's key lands on its partition, before its data
    poison = [  # (key, value, kafka timestamp ms, reason expected in the dead letter)
        (victim, _signed(b"[" * 100_000 + b"]" * 100_000), None, "bytes, at most"),
        (victim, _meta_doc(victim, sig_baseline=float("inf")), None, "baseline"),
        (victim, _meta_doc(victim, start_us=253_402_300_800_000_000), None, "start_us"),
        (victim, _meta_doc(victim, n_source_samples=0), None, "n_source_samples"),
        (victim, _meta_doc(victim, source_offset=-1), None, "source_offset"),
        (victim, _meta_doc(victim, sig_adc_res=40000), None, "adc_res"),
        # an integer no float holds: once an OverflowError out of decode() that failed the batch
        (victim, _meta_doc(victim, fs=10**400), None, "sampling rate"),
        (victim, _meta_doc(victim, sig_gain=-(10**400)), None, "gain"),
        (victim + "\n", _chunk(victim), None, "bad patient id"),
        (victim, _chunk(victim, start_us=253_402_300_800_000_000), None, "stream start"),
        (f"ghost-{tag}", _chunk(f"ghost-{tag}"), None, "unknown patient"),
    ]
    prod = KafkaProducer(bootstrap_servers=broker, acks="all")
    for k, v, ts, _ in poison:
        prod.send(topic, key=k.encode(), value=v, timestamp_ms=ts)
    # a valid message whose Kafka timestamp is past year 9999 (the source must not fail on it)
    late = f"late-{tag}"
    prod.send(topic, key=late.encode(), value=encode_meta(PatientMeta(
        late, "x", 360.0, START_US, 0, 1000, (SignalMeta("I", 200.0, 0, 11, 0),))),
        timestamp_ms=300_000_000_000_000)
    # a valid 10 Hz stream: stored; its heart rate is "not computed", not an exception
    slow = f"slow-{tag}"
    prod.send(topic, key=slow.encode(), value=encode_meta(PatientMeta(
        slow, "slow", 10.0, START_US, 0, 1000,
        (SignalMeta("I", 200.0, 0, 11, 0), SignalMeta("II", 200.0, 0, 11, 0)))))
    for i in range(20):
        prod.send(topic, key=slow.encode(), value=_chunk(slow, fs=10.0, first=i * 10, n=10))
    prod.flush()
    prod.close()
    result = run_ingest(str(MITDB), broker, topic, records=list(good), seconds=SECONDS, speed=None,
                        mapping=good, show_progress=False)
    assert result.ok
    raw, raw_w = start_raw_writer(spark, bootstrap=broker, topic=topic, dlq_topic=topic + ".dlq",
                                  writer_dsn=db.writer, checkpoint=tmp_path / "raw",
                                  available_now=True, max_offsets_per_trigger=50)
    if beats_job == "alarm-job":
        hr, hr_w = start_alarm_job(spark, bootstrap=broker, topic=topic, writer_dsn=db.writer,
                                   checkpoint=tmp_path / "alarm", available_now=True,
                                   max_offsets_per_trigger=50, beats=True)
    else:
        hr, hr_w = start_hr_job(spark, bootstrap=broker, topic=topic, writer_dsn=db.writer,
                                checkpoint=tmp_path / "hr", available_now=True,
                                max_offsets_per_trigger=50)
    try:
        raw.awaitTermination(900)
        hr.awaitTermination(900)
        assert raw.exception() is None and hr.exception() is None
    finally:
        raw.stop()
        hr.stop()
        raw_w.close()
        hr_w.close()
    with psycopg.connect(db.reader) as conn:
        reasons = [r for (r,) in conn.execute(
            "SELECT reason FROM dead_letters WHERE topic = %s ORDER BY kafka_offset", (topic,))]
        # the good patients: every sample, bit-exact, once
        recs = {r: read_record(MITDB / r) for r in good}
        expected = {s.patient: (s.recording.name, s.n_total) for s in result.streams}
        v = verify_store(conn, recs, expected, us_to_datetime(result.streams[0].start_us))
        slow_samples = conn.execute("SELECT coalesce(sum(cardinality(samples)), 0) FROM waveform "
                                    "WHERE patient_id = %s", (slow,)).fetchone()[0]
        slow_quality = conn.execute("SELECT count(*), bool_or(valid), min(flags) FROM signal_quality "
                                    "WHERE patient_id = %s", (slow,)).fetchone()
        late_registered = conn.execute("SELECT count(*) FROM signals WHERE patient_id = %s",
                                       (late,)).fetchone()[0]
        beats = {p: np.array([r[0] for r in conn.execute(
            "SELECT sample_index FROM beats WHERE patient_id = %s AND sample_index < %s "
            "ORDER BY 1", (p, (SECONDS - 3) * 360))]) for p in good.values()}
    assert len(reasons) == len(poison), reasons
    for _, _, _, why in poison:
        assert any(why in r for r in reasons), (why, reasons)
    assert v.samples_stored == 2 * SECONDS * 360 * 2
    assert (v.samples_mismatched, v.duplicates, v.missing) == (0, 0, 0)
    assert slow_samples == 20 * 10 * 2
    assert slow_quality[0] == 20 and slow_quality[1] is False and slow_quality[2] == "hr_not_computed"
    assert late_registered == 1
    for rec, p in good.items():
        offline = detect_beats(read_record(MITDB / rec).adc[: SECONDS * 360].astype(float), 360)
        assert len(beats[p]) > 50
        assert np.array_equal(beats[p], offline[offline < (SECONDS - 3) * 360])
