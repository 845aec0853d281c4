"""A stored cohort for the dataset tests: N patients replayed from the MIT-BIH sample records,
written the way the jobs write (the raw writer's ``write_batch`` with the records' expert
annotations, the heart-rate writer's beats and quality windows from our detector, the alarm
writer's events), over a UTC midnight so that exports split days."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import psycopg

from ecgdash.core.codec import PatientMeta
from ecgdash.core.qrs import StreamingQRSDetector
from ecgdash.ingest.records import read_record
from ecgdash.ingest.replay import plan_streams
from ecgdash.timescale.alarms import write_alarm_batch
from ecgdash.timescale.dead_letters import DeadLetter
from ecgdash.timescale.heart_rate import write_hr_batch
from ecgdash.timescale.ledger import BatchKey
from ecgdash.timescale.waveform import Batch, write_batch
from tests.helpers import MITDB

FS = 360
T0 = datetime(2024, 5, 2, 23, 59, 30, tzinfo=UTC)  # the cohort crosses midnight


@dataclass
class Cohort:
    patients: list[str]
    start_us: int
    seconds: int
    adc: dict[str, np.ndarray] = field(default_factory=dict)  # source ADC (n, leads), as sent
    gap: dict[str, tuple[int, int]] = field(default_factory=dict)  # stream samples never stored
    beats: dict[str, np.ndarray] = field(default_factory=dict)  # stream indices
    bed_of: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, int] = field(default_factory=dict)


def store_cohort(db_writer: str, n: int, seconds: int, *, beats_for: int = 3) -> Cohort:
    """`n` patients of `seconds` each; the first misses one chunk (a gap); the first
    `beats_for` get beats (our detector), quality windows and an alarm; every one is admitted to a
    bed; ids include '.' and ':' (escaped in hive folder names)."""
    tag = uuid.uuid4().hex[:5]
    recs = [read_record(MITDB / r) for r in ("101", "106", "119", "208")]
    start_us = int(T0.timestamp() * 1e6)
    streams = plan_streams(recs, n, seconds=seconds, loop=False, start_us=start_us, offset_s=37)
    c = Cohort([], start_us, seconds)
    metas, chunks, labels = [], [], []
    off = 0

    def origin(p: str) -> DeadLetter:
        nonlocal off
        off += 1
        return DeadLetter("t", 0, off, p.encode(), None, "")

    for k, s in enumerate(streams):
        p = f"ds{tag}.{k:03d}" if k % 7 else f"ds{tag}:{k:03d}"
        s.patient = p
        c.patients.append(p)
        metas.append((PatientMeta(p, s.recording.name, float(FS), start_us, s.source_offset,
                                  s.recording.n_samples, s.recording.signals), origin(p)))
        sent = []
        while s.next_index < s.n_total:
            ch = s.take()
            sent.append(ch.samples.T)
            if k == 0 and ch.first_index == 20 * FS:
                c.gap[p] = (ch.first_index, ch.first_index + ch.n_samples)
                continue
            chunks.append((ch, origin(p)))
            lab = s.annotations_of(ch)
            if lab is not None:
                labels.append((lab, origin(p)))
                c.annotations[p] = c.annotations.get(p, 0) + len(lab.annotations)
        c.adc[p] = np.concatenate(sent)
        c.bed_of[p] = f"DS{tag} {k:03d}"
    with psycopg.connect(db_writer) as conn:
        b = Batch(metas=metas, chunks=chunks, labels=labels, messages=off)
        res = write_batch(conn, BatchKey(f"ds-{tag}", "raw_writer", 0), b)
        assert res is not None and not res.dead, res
        hr_rows, alarm_rows = [], []
        for p in c.patients[:beats_for]:
            det = StreamingQRSDetector(FS, 2)
            x = c.adc[p].astype(float)
            beats = det.push(x) + det.flush()
            c.beats[p] = np.array([bt.index for bt in beats])
            hr_rows += [{"kind": "beat", "patient_id": p, "stream_index": bt.index,
                         "time_us": start_us + round(bt.index * 1e6 / FS), "rr_ms": bt.rr_ms,
                         "hr_bpm": bt.hr_bpm, "leads": "MLII,V1", "quality": bt.quality,
                         "length": None, "valid": None, "flags": None} for bt in beats]
            hr_rows += [{"kind": "quality", "patient_id": p, "stream_index": i * FS,
                         "time_us": start_us + i * 1_000_000, "rr_ms": None, "hr_bpm": None,
                         "leads": "", "quality": 0.9, "length": FS, "valid": i % 9 != 0,
                         "flags": "" if i % 9 else "noisy"} for i in range(seconds)]
            alarm_rows += [
                {"patient_id": p, "kind": "tachycardia", "priority": "high", "action": "raise",
                 "onset_us": start_us + 12_000_000, "at_us": start_us + 15_000_000,
                 "value": 170.0, "message": "HR 170"},
                {"patient_id": p, "kind": "tachycardia", "priority": "high", "action": "end",
                 "onset_us": start_us + 12_000_000, "at_us": start_us + 19_000_000,
                 "value": None, "message": ""}]
        write_hr_batch(conn, BatchKey(f"ds-hr-{tag}", "hr_job", 0), hr_rows)
        write_alarm_batch(conn, BatchKey(f"ds-al-{tag}", "alarm_job", 0), alarm_rows)
        for p in c.patients:
            conn.execute("INSERT INTO admissions (bed, patient_id, admitted_at) VALUES (%s, %s, %s)",
                         (c.bed_of[p], p, T0))
        conn.commit()
    return c
