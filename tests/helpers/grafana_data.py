"""The recordings the Grafana tests load into both database modes, and how (the fixtures that
start the databases are in tests/grafana/conftest.py).

Data (all from the committed MIT-BIH records, stream clock starting at T0):

* ``sinus-101``, ``sinus-106``: 180 s of records 101 and 106 as recorded (normal rate).
* ``fast-101``: record 101 registered at 720 Hz instead of 360 Hz, i.e. replayed 2x faster:
  a real ECG whose rate is ~140 bpm (a fast rhythm the tachycardia rule must catch).
* ``gap-119``: 180 s of record 119 with 20 s flat from 60 s (constant ADC value: leads off) and
  no samples at all from 150 s to 180 s (signal loss).
* ``pause-101``: record 101 from 300 s, whose beats between 90 s and 97 s are deleted from the
  detector's output (synthetic: a 7 s pause in valid signal, for the asystole rule).

Waveform goes in through ``ecgdash.timescale.waveform.write_batch`` (the raw writer's path), one batch per
patient, plus one batch whose chunk names an unregistered patient (a dead letter). Beats and
signal quality come from running the project's streaming detector (ecgdash.core.qrs) over the same
samples, as the heart-rate job will, then ``refresh_hr_rollups``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import psycopg

from ecgdash.core.codec import PatientMeta, SampleChunk
from ecgdash.core.qrs import StreamingQRSDetector
from ecgdash.core.qrs.quality import LeadFlag
from ecgdash.ingest.records import read_record
from ecgdash.timescale.admissions import admit, discharge
from ecgdash.timescale.dead_letters import DeadLetter
from ecgdash.timescale.ledger import BatchKey
from ecgdash.timescale.waveform import Batch, Gap, write_batch
from tests.helpers import MITDB
from tests.helpers.grafana_alarms import insert_alarm_events

DATA = MITDB
T0 = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
SECONDS = 180
READER_PASSWORD = "reader-test-pw"
FLAGS = {LeadFlag.GAP: "gap", LeadFlag.FLAT: "flat", LeadFlag.SATURATED: "saturated",
         LeadFlag.NOISY: "noisy"}


@dataclass(frozen=True)
class Stream:
    patient: str
    record: str
    fs: float  # Hz as registered (may differ from the record's: fast-101)
    offset_s: float = 0.0  # record seconds skipped
    flat: tuple[float, float] | None = None  # stream seconds held constant
    missing: tuple[float, float] | None = None  # stream seconds never written
    drop_beats: tuple[float, float] | None = None  # stream seconds whose beats are deleted


STREAMS = (
    Stream("sinus-101", "101", 360.0),
    Stream("sinus-106", "106", 360.0),
    Stream("fast-101", "101", 720.0),
    Stream("gap-119", "119", 360.0, flat=(60, 80), missing=(150, 180)),
    Stream("pause-101", "101", 360.0, offset_s=300, drop_beats=(90, 97)),
)




def _us(t: datetime) -> int:
    return int((t - datetime(1970, 1, 1, tzinfo=UTC)) / timedelta(microseconds=1))


def _stream_samples(s: Stream) -> tuple[np.ndarray, PatientMeta]:
    rec = read_record(DATA / s.record)
    start = int(s.offset_s * rec.fs)
    n = int(SECONDS * s.fs)
    adc = rec.adc[start:start + n].copy()
    if s.flat:
        a, b = (int(x * s.fs) for x in s.flat)
        adc[a:b] = adc[a]
    meta = PatientMeta(s.patient, s.record, s.fs, _us(T0), start, rec.n_samples, rec.signals)
    return adc, meta


def _written(s: Stream, i0: int) -> bool:
    return not (s.missing and s.missing[0] * s.fs <= i0 < s.missing[1] * s.fs)


def load_waveform(conn: psycopg.Connection) -> None:
    for batch_id, s in enumerate(STREAMS):
        adc, meta = _stream_samples(s)
        step = int(s.fs)  # ~1 s chunks, as the producer sends
        chunks = []
        for i0 in range(0, adc.shape[0], step):
            if _written(s, i0):
                c = SampleChunk(s.patient, s.fs, meta.start_us, i0,
                                np.ascontiguousarray(adc[i0:i0 + step].T))
                chunks.append((c, DeadLetter("ecg.waveform", 0, batch_id * 1000 + i0 // step,
                                             s.patient.encode(), None, "")))
        write_batch(conn, BatchKey("test-raw-writer", "raw_writer", batch_id),
                    Batch(metas=[(meta, DeadLetter("ecg.waveform", 0, batch_id * 1000 + 999,
                                              s.patient.encode()))],
                          chunks=chunks, messages=len(chunks) + 1))
    stray = SampleChunk("not-registered", 360.0, _us(T0), 0, np.zeros((2, 360), np.int16))
    origin = DeadLetter("ecg.waveform", 1, 99, b"not-registered", b"", "")
    # the pipeline board's other faults, through the same write: a resend of sinus-101's second
    # chunk with other values (a sample conflict) and a gap the source reported
    s = STREAMS[0]
    resend = SampleChunk(s.patient, s.fs, _us(T0), int(s.fs), np.ones((2, int(s.fs)), np.int16))
    batch = Batch(chunks=[(stray, origin),
                          (resend, DeadLetter("ecg.waveform", 0, 98, s.patient.encode()))],
                  messages=2)
    batch.gaps.append(Gap("ecg.waveform", 2, 1200, 1500, "test: offsets 1200..1499 deleted "
                          "before they were read (retention)"))
    write_batch(conn, BatchKey("test-raw-writer", "raw_writer", len(STREAMS)), batch)


def _flags(flags: tuple[int, ...]) -> str:
    common = flags[0]
    for f in flags[1:]:
        common &= f  # a flag every lead has: the signal as a whole
    return ",".join(name for bit, name in FLAGS.items() if common & bit)


def detect(s: Stream) -> tuple[list[tuple], list[tuple]]:
    """Beats and quality rows of a stream, from the streaming detector fed 1 s at a time."""
    adc, meta = _stream_samples(s)
    x = adc.astype(np.float64)
    if s.missing:
        a, b = (int(v * s.fs) for v in s.missing)
        x[a:b] = np.nan  # the job sees no samples there
    det = StreamingQRSDetector(s.fs, x.shape[1])
    beats, windows = [], []
    step = int(s.fs)
    for i0 in range(0, x.shape[0], step):
        r = det.process(x[i0:i0 + step])
        beats += r.beats
        windows += r.windows
    r = det.finish()
    beats += r.beats
    windows += r.windows
    leads = [sig.lead for sig in meta.signals]
    t = lambda i: T0 + timedelta(seconds=i / s.fs)  # noqa: E731
    if s.missing:  # no windows where nothing arrived
        a, b = (v * s.fs for v in s.missing)
        windows = [w for w in windows if not a <= w.start < b]
    beat_rows, prev = [], None
    for b in beats:
        if s.drop_beats and s.drop_beats[0] * s.fs <= b.index < s.drop_beats[1] * s.fs:
            continue
        rr = None if prev is None else (b.index - prev) * 1000.0 / s.fs
        hr = None if rr is None or b.hr_bpm is None else 60000.0 / rr
        beat_rows.append((s.patient, t(b.index), b.index, rr, hr,
                          ",".join(leads[i] for i in b.leads), b.quality))
        prev = b.index
    quality_rows = [(s.patient, t(w.start), w.length / s.fs, w.usable, w.quality, _flags(w.flags))
                    for w in windows]
    return beat_rows, quality_rows


# COPY, not executemany: psycopg pipelines executemany, which the embedded server handles badly
_BEAT = ("COPY beats (patient_id, time, sample_index, rr_ms, hr_bpm, leads, quality) "
         "FROM STDIN (FORMAT BINARY)")
_BEAT_TYPES = ["text", "timestamptz", "int8", "float4", "float4", "text", "float4"]
_QUALITY = ("COPY signal_quality (patient_id, time, duration_s, valid, sqi, flags) "
            "FROM STDIN (FORMAT BINARY)")
_QUALITY_TYPES = ["text", "timestamptz", "float4", "bool", "float4", "text"]


def _copy(cur: psycopg.Cursor, sql: str, types: list[str], rows: list[tuple]) -> None:
    with cur.copy(sql) as copy:
        copy.set_types(types)
        for row in rows:
            copy.write_row(row)



# Beds: every stream admitted from an hour before T0 (bed labels in natural order: "Bed 2" comes
# before "Bed 10"), and one patient discharged before T0, who must not appear on the wall.
BEDS = {"sinus-101": "Bed 1", "sinus-106": "Bed 2", "fast-101": "Bed 3", "gap-119": "Bed 10",
        "pause-101": "Bed 4"}
DISCHARGED = ("Bed 5", "gone-208")


def admit_beds(conn: psycopg.Connection) -> None:
    for patient, bed in BEDS.items():
        admit(conn, bed, patient, T0 - timedelta(hours=1))
    admit(conn, DISCHARGED[0], DISCHARGED[1], T0 - timedelta(hours=2))
    discharge(conn, DISCHARGED[1], T0 - timedelta(minutes=30))


def load_all(dsn: str, detections: dict[str, tuple[list[tuple], list[tuple]]]) -> None:
    with psycopg.connect(dsn) as conn:
        load_waveform(conn)
        admit_beds(conn)
        insert_alarm_events(conn, T0)
        with conn.transaction(), conn.cursor() as cur:
            for beats, quality in detections.values():
                _copy(cur, _BEAT, _BEAT_TYPES, beats)
                _copy(cur, _QUALITY, _QUALITY_TYPES, quality)
            cur.execute("SELECT refresh_hr_rollups(%s, %s, %s)",
                        ([s.patient for s in STREAMS], T0, T0 + timedelta(seconds=SECONDS)))


def reader_dsn(host_port: str, extra: str = "") -> str:
    return f"postgresql://ecg_reader:{READER_PASSWORD}@{host_port}/postgres{extra}"
