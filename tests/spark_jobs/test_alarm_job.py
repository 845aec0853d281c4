"""The alarm job on real services: injected events become alarm events with the right onset,
exactly once, also when the job is killed with SIGKILL and restarted from its checkpoint."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import psycopg
import pytest

from ecgdash.core.codec import PatientMeta, SampleChunk, encode_key, encode_meta, encode_samples
from ecgdash.core.kafka.clients import producer
from ecgdash.core.qrs import StreamingQRSDetector
from ecgdash.ingest.records import read_record
from ecgdash.spark_jobs.alarm_job import start_alarm_job
from tests.helpers import MITDB, Db
from tests.helpers.alarm_signals import splice_pause, warp_rate

pytestmark = pytest.mark.integration
FS = 360.0
START_US = 1_700_000_000_000_000  # the streams' clock (epoch µs of sample 0)


@dataclass
class Stream:
    patient: str
    record: str
    adc: np.ndarray  # (n, leads)
    stop_s: float | None = None  # the producer stops here (signal loss)
    onset_s: float | None = None  # the injected event's onset


def _reference(name: str) -> np.ndarray:
    import wfdb

    ann = wfdb.rdann(str(MITDB / name), "atr")
    return np.array([s for s, y in zip(ann.sample, ann.symbol, strict=True)
                     if y in set("NLRBAaJSVrFejnE/fQ!")])


def make_streams(tag: str, seconds: int = 80) -> list[Stream]:
    n = int(seconds * FS)
    r101, r119 = read_record(MITDB / "101"), read_record(MITDB / "119")
    flat, _, inj_flat = splice_pause(r119.adc, _reference("119"), FS, int(30 * FS), 10, "flat")
    low, _, inj_low = splice_pause(r101.adc, _reference("101"), FS, int(30 * FS), 10,
                                   "low-amplitude")
    ref101 = _reference("101")
    hr = 60 * FS / float(np.median(np.diff(ref101[:100])))
    fast, _, inj_fast = warp_rate(r101.adc, ref101, FS, int(30 * FS), 60, 170 / hr)
    return [
        Stream(f"flat-{tag}", "119", flat[:n], onset_s=inj_flat.onset / FS),
        Stream(f"low-{tag}", "101", low[:n], onset_s=inj_low.onset / FS),
        Stream(f"fast-{tag}", "101", fast[:n], onset_s=inj_fast.onset / FS),
        Stream(f"sinus-{tag}", "101", r101.adc[:n]),
        Stream(f"stop-{tag}", "119", r119.adc[:n], stop_s=40.0),
    ]


def publish(broker: str, topic: str, streams: list[Stream]) -> None:
    """Metadata, then 1-s chunks in signal order, each with its Kafka timestamp = the time its
    last sample was recorded (so the arrival clock is what a live replay at speed 1 gives)."""
    rec = read_record(MITDB / "101")
    prod = producer(broker)
    for s in streams:
        meta = PatientMeta(s.patient, s.record, FS, START_US, 0, s.adc.shape[0], rec.signals)
        prod.send(topic, key=encode_key(s.patient), value=encode_meta(meta),
                  timestamp_ms=START_US // 1000)
    c = int(FS)
    for i in range(0, max(s.adc.shape[0] for s in streams), c):
        for s in streams:
            if i >= s.adc.shape[0] or (s.stop_s is not None and i >= s.stop_s * FS):
                continue
            chunk = SampleChunk(s.patient, FS, START_US, i, s.adc[i : i + c].T)
            end_ms = START_US // 1000 + round((i + chunk.samples.shape[1]) / FS * 1000)
            prod.send(topic, key=encode_key(s.patient), value=encode_samples(chunk),
                      timestamp_ms=end_ms)
    prod.flush()
    prod.close()


def events(db: Db, tag: str) -> list[tuple]:
    with psycopg.connect(db.reader) as conn:
        return conn.execute(
            "SELECT patient_id, kind, priority, (extract(epoch FROM onset) * 1e6 - %s)::float8, "
            "(extract(epoch FROM ended) * 1e6 - %s)::float8, value FROM alarm_events "
            "WHERE patient_id LIKE %s ORDER BY patient_id, onset, kind, priority",
            (START_US, START_US, f"%-{tag}")).fetchall()


def check_events(rows: list[tuple], streams: list[Stream], tag: str) -> None:
    by = {s.patient: s for s in streams}
    kinds: dict[str, set[str]] = {}
    for patient, kind, _pri, onset_us, _ended_us, _value in rows:
        kinds.setdefault(patient, set()).add(kind)
    assert kinds.get(f"sinus-{tag}", set()) == set(), rows
    for name in ("flat", "low"):  # a flat line is asystole, not unusable signal
        p = f"{name}-{tag}"
        asy = [r for r in rows if r[0] == p and r[1] == "asystole"]
        assert len(asy) == 1 and asy[0][2] == "high", rows
        # onset = the last beat before the pause (R peak, within EC57's 150 ms)
        assert abs(asy[0][3] / 1e6 - by[p].onset_s) < 0.15, (asy, by[p].onset_s)
        assert asy[0][4] is not None and asy[0][4] / 1e6 > by[p].onset_s + 10, "ends at the next beat"
        assert kinds[p] == {"asystole"}, rows
    p = f"fast-{tag}"
    tachy = [r for r in rows if r[0] == p and r[1] == "tachycardia" and r[2] == "high"]
    assert tachy and abs(tachy[0][3] / 1e6 - by[p].onset_s) < 0.5, (rows, by[p].onset_s)
    assert kinds[p] <= {"tachycardia"}, rows
    p = f"stop-{tag}"
    loss = [r for r in rows if r[0] == p]
    assert [r[1:3] for r in loss] == [("signal_loss", "medium")], rows
    # onset = the last sample received
    assert loss[0][3] == pytest.approx((40 * FS - 1) / FS * 1e6, abs=2), loss


def beat_rows(db: Db, patient: str) -> list[tuple]:
    with psycopg.connect(db.reader) as conn:
        return conn.execute(
            "SELECT sample_index, rr_ms, hr_bpm, leads, quality FROM beats WHERE patient_id = %s "
            "ORDER BY sample_index", (patient,)).fetchall()  # fmt: skip


def check_beats(db: Db, streams: list[Stream]) -> None:
    """The beats the alarm job stored are the offline detector's on the samples sent (up to the
    last 5 s, which a stream that stopped leaves undecided), with their RR and the lead names."""
    for s in streams:
        sent = s.adc if s.stop_s is None else s.adc[: int(s.stop_s * FS)]
        limit = sent.shape[0] - 5 * FS
        det = StreamingQRSDetector(FS, sent.shape[1])
        offline = [b for b in det.process(sent.astype(np.float64)).beats if b.index < limit]
        stored = [r for r in beat_rows(db, s.patient) if r[0] < limit]
        assert len(offline) > 20
        assert [r[0] for r in stored] == [b.index for b in offline], s.patient
        names = ("MLII", "V1")  # the leads `publish` registers
        for r, b in zip(stored, offline, strict=True):
            assert (r[1] is None) == (b.rr_ms is None) and (r[2] is None) == (b.hr_bpm is None)
            if b.rr_ms is not None:  # stored as real (float4)
                assert r[1] == pytest.approx(b.rr_ms, rel=1e-6)
            assert r[3] == ",".join(names[i] for i in b.leads)


def test_alarm_job_injected_events(db: Db, broker: str, topic: str, spark, tmp_path: Path) -> None:
    """A flat line and a low-amplitude stretch raise asystole (high) with the last beat as onset;
    a time-compressed stretch raises tachycardia; a producer stop raises signal loss at the last
    sample; sinus rhythm raises nothing. The beats its detector found are stored too (the
    offline detector's). Replaying the query from its checkpoint adds nothing. The five patients
    share one state group (``groups=1``), so the stopped stream's signal loss is judged in calls
    made for the others' data; the killed-job test below runs the default grouping."""
    tag = uuid.uuid4().hex[:6]
    streams = make_streams(tag)
    publish(broker, topic, streams)
    query, writer = start_alarm_job(spark, bootstrap=broker, topic=topic, writer_dsn=db.writer,
                                    checkpoint=tmp_path / "alarm", available_now=True,
                                    max_offsets_per_trigger=40, beats=True, groups=1)
    try:
        query.awaitTermination(900)
        assert query.exception() is None
    finally:
        query.stop()
        writer.close()
    rows = events(db, tag)
    check_events(rows, streams, tag)
    check_beats(db, streams)
    # the same checkpoint again: nothing new to process, nothing written twice
    q2, w2 = start_alarm_job(spark, bootstrap=broker, topic=topic, writer_dsn=db.writer,
                             checkpoint=tmp_path / "alarm", available_now=True, groups=1)
    q2.awaitTermination(300)
    q2.stop()
    w2.close()
    assert events(db, tag) == rows


def _batches(db: Db) -> int:
    with psycopg.connect(db.reader) as conn:
        return conn.execute("SELECT count(*) FROM writer_batches WHERE query_name = 'alarm_job' "
                            "AND committed_at > now() - interval '10 minutes'").fetchone()[0]


def test_killed_alarm_job_neither_loses_nor_doubles(pg_native: Db, broker: str, topic: str,
                                                    tmp_path: Path) -> None:
    """`ecgdash alarms job` killed with SIGKILL mid-stream and restarted from its checkpoint:
    every injected alarm is there once, with the onsets of an uninterrupted run."""
    db = pg_native
    tag = uuid.uuid4().hex[:6]
    streams = make_streams(tag)
    publish(broker, topic, streams)
    before = _batches(db)
    env = {**os.environ, "ECG_DB_MODE": "external", "ECG_DB_ADMIN_DSN": db.admin,
           "ECG_DB_WRITER_DSN": db.writer, "ECG_DB_READER_DSN": db.reader,
           "ECG_KAFKA_BOOTSTRAP": broker, "ECG_TOPIC": topic,
           "ECG_CHECKPOINT_DIR": str(tmp_path / "ck"), "ECG_MAX_OFFSETS_PER_TRIGGER": "15",
           "ECG_ALARM_TRIGGER_S": "1"}  # fmt: skip
    log = tmp_path / "alarm.log"
    argv = [sys.executable, "-m", "ecgdash.cli", "alarms", "job"]
    with open(log, "ab") as out:
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        # the flat line's asystole is decided ~35 s into 5 streams: kill around there
        while _batches(db) < before + 9:
            assert proc.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, "alarm job made no progress: " + log.read_text()[-3000:]
            time.sleep(0.1)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    partial = events(db, tag)
    with open(log, "ab") as out:
        done = subprocess.run([*argv, "--available-now"], env=env, stdout=out,
                              stderr=subprocess.STDOUT, timeout=600)
    assert done.returncode == 0, log.read_text()[-3000:]
    rows = events(db, tag)
    assert len(partial) < len(rows), "the kill should land mid-stream"
    check_events(rows, streams, tag)
    keys = [r[:4] for r in rows]
    assert len(keys) == len(set(keys)), "an alarm stored twice"
    check_beats(db, streams)  # the beats it stores (ECG_ALARM_WRITES_BEATS, the default): none lost
