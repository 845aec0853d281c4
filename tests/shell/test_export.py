"""Export of a stored range to WFDB (with beats), Parquet and NumPy, on both database modes.

The data goes in the way the jobs write it (``timescale.store.write_batch`` for the waveform,
``ecgdash.timescale.heart_rate.write_hr_batch`` for beats from our detector), with one chunk left out (a gap),
and comes back out of each format bit-exact against the source record.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import psycopg
import pytest

from ecgdash.core.codec import PatientMeta, SampleChunk, SignalMeta
from ecgdash.core.errors import ExportError
from ecgdash.core.qrs import StreamingQRSDetector
from ecgdash.export import INVALID, export
from ecgdash.ingest.records import read_record
from ecgdash.timescale.dead_letters import DeadLetter
from ecgdash.timescale.heart_rate import write_hr_batch
from ecgdash.timescale.ledger import BatchKey
from ecgdash.timescale.waveform import Batch, write_batch
from tests.helpers import MITDB, Db

pytestmark = pytest.mark.integration
T0 = datetime(2024, 5, 2, 10, 0, tzinfo=UTC)
SECONDS, GAP_CHUNK = 60, 25  # the chunk covering 25-26 s is never written
FS = 360


@pytest.fixture(scope="module")
def stored(request: pytest.FixtureRequest) -> dict:
    """Per database mode: a fresh patient with 60 s of record 101 (minus one chunk) and beats."""
    return {}


def _load(db: Db, cache: dict) -> tuple[str, np.ndarray, np.ndarray]:
    if db.mode in cache:
        return cache[db.mode]
    rec = read_record(MITDB / "101")
    adc = rec.adc[: SECONDS * FS]
    patient = f"exp-{uuid.uuid4().hex[:6]}"
    start_us = int(T0.timestamp() * 1e6)
    meta = PatientMeta(patient, "101", float(FS), start_us, 0, rec.n_samples, rec.signals)
    chunks = [
        (SampleChunk(patient, float(FS), start_us, i, np.ascontiguousarray(adc[i : i + FS].T)),
         DeadLetter("t", 0, i, patient.encode(), None, ""))
        for i in range(0, SECONDS * FS, FS) if i // FS != GAP_CHUNK
    ]  # fmt: skip
    det = StreamingQRSDetector(FS, 2)
    beats = det.push(adc.astype(float)) + det.flush()
    rows = [{"kind": "beat", "patient_id": patient, "stream_index": b.index,
             "time_us": start_us + round(b.index * 1e6 / FS), "rr_ms": b.rr_ms, "hr_bpm": b.hr_bpm,
             "leads": "MLII", "quality": b.quality, "length": None, "valid": None, "flags": None}
            for b in beats]  # fmt: skip
    with psycopg.connect(db.writer) as conn:
        write_batch(conn, BatchKey(f"export-test-{patient}", "raw_writer", 0),
                    Batch(metas=[(meta, DeadLetter("t", 1, 0, patient.encode()))], chunks=chunks,
                          messages=len(chunks) + 1))
        write_hr_batch(conn, BatchKey(f"export-test-hr-{patient}", "hr_job", 0), rows)
    cache[db.mode] = (patient, adc, np.array([b.index for b in beats]))
    return cache[db.mode]


def _expected(adc: np.ndarray, a: int, b: int) -> np.ndarray:
    want = adc[a:b].astype(np.int16).copy()
    g0, g1 = GAP_CHUNK * FS, (GAP_CHUNK + 1) * FS
    want[max(g0, a) - a : max(min(g1, b) - a, 0)] = INVALID
    return want


RANGE = (T0 + timedelta(seconds=10), T0 + timedelta(seconds=40))
A, B = 10 * FS, 40 * FS


def test_wfdb_round_trip_with_beats(db: Db, stored: dict, tmp_path: Path) -> None:
    import wfdb

    patient, adc, beats = _load(db, stored)
    with psycopg.connect(db.reader) as conn:
        res = export(conn, patient, *RANGE, "wfdb", tmp_path)
    assert res.samples == B - A and res.missing == 2 * FS
    name = res.files[0].with_suffix("")
    rec = wfdb.rdrecord(str(name), physical=False)
    np.testing.assert_array_equal(rec.d_signal, _expected(adc, A, B))
    assert rec.fs == FS and rec.sig_name == ["MLII", "V1"]
    ann = wfdb.rdann(str(name), "qrs")
    want = beats[(beats >= A) & (beats < B)] - A
    np.testing.assert_array_equal(ann.sample, want)
    assert set(ann.symbol) == {"N"} and res.beats == want.size > 20
    # physical units: the stored gain and baseline
    phys = wfdb.rdrecord(str(name)).p_signal
    ok = ~np.isnan(phys[:, 0])
    np.testing.assert_allclose(phys[ok, 0], (adc[A:B][ok, 0] - rec.baseline[0]) / rec.adc_gain[0])


def test_parquet_and_npz_round_trip(db: Db, stored: dict, tmp_path: Path) -> None:
    import json

    import pyarrow.parquet as pq

    patient, adc, beats = _load(db, stored)
    want = _expected(adc, A, B)
    with psycopg.connect(db.reader) as conn:
        pres = export(conn, patient, *RANGE, "parquet", tmp_path / "pq")
        nres = export(conn, patient, *RANGE, "npz", tmp_path / "np")
    table = pq.read_table(pres.files[0])
    np.testing.assert_array_equal(table.column("MLII").to_numpy(), want[:, 0])
    np.testing.assert_array_equal(table.column("V1").to_numpy(), want[:, 1])
    assert table.column("sample_index").to_numpy()[0] == A
    assert table.column("time")[0].as_py() == RANGE[0]
    assert (~table.column("valid").to_numpy()).sum() == FS
    meta = json.loads(table.schema.metadata[b"ecgdash"])
    assert meta["fs"] == FS and [m["name"] for m in meta["leads"]] == ["MLII", "V1"]
    bt = pq.read_table(pres.files[1])
    np.testing.assert_array_equal(bt.column("sample_index").to_numpy(), beats[(beats >= A) & (beats < B)])
    z = np.load(nres.files[0])
    np.testing.assert_array_equal(z["adc"], want)
    assert z["valid"].sum() == want.size - 2 * FS and int(z["start_index"]) == A
    np.testing.assert_array_equal(z["beats"], beats[(beats >= A) & (beats < B)] - A)


def test_bad_requests_are_named(db: Db, stored: dict, tmp_path: Path) -> None:
    patient, _, _ = _load(db, stored)
    with psycopg.connect(db.reader) as conn:
        with pytest.raises(ExportError, match="unknown patient 'nobody'"):
            export(conn, "nobody", *RANGE, "wfdb", tmp_path)
        with pytest.raises(ExportError, match="inverted"):
            export(conn, patient, RANGE[1], RANGE[0], "wfdb", tmp_path)
        with pytest.raises(ExportError, match="no stored samples"):
            export(conn, patient, T0 + timedelta(hours=2), T0 + timedelta(hours=3), "npz", tmp_path)
        with pytest.raises(ExportError, match="unknown format"):
            export(conn, patient, *RANGE, "csv", tmp_path)


def test_cli_export(db: Db, stored: dict, tmp_path: Path) -> None:
    """`ecgdash export` as a user runs it (external mode, the reader DSN); errors are one line."""
    import os

    patient, adc, _ = _load(db, stored)
    env = {**os.environ, "ECG_DB_MODE": "external", "ECG_DB_READER_DSN": db.reader}
    argv = [sys.executable, "-m", "ecgdash.cli", "export", "--patient", patient, "--start",
            "2024-05-02T10:00:10Z", "--end", "2024-05-02T10:00:40+00:00", "--format", "npz",
            "--out", str(tmp_path), "--quiet"]  # fmt: skip
    out = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    z = np.load(out.stdout.splitlines()[0])
    np.testing.assert_array_equal(z["adc"], _expected(adc, A, B))
    inverted = list(argv)
    inverted[argv.index("--start") + 1] = "2024-05-02T10:00:50Z"
    bad = subprocess.run(inverted, env=env, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1 and "inverted" in bad.stderr and "Traceback" not in bad.stderr


def _store_streams(db: Db, patient: str, streams) -> None:
    """Store (start time, ADC samples) streams of one patient, each registered anew (its sample
    indices start at 0), through the raw writer's write_batch."""
    signals = read_record(MITDB / "101").signals
    with psycopg.connect(db.writer) as conn:
        for batch_id, (t, adc) in enumerate(streams):
            us = int(t.timestamp() * 1e6)
            meta = PatientMeta(patient, "x", float(FS), us, 0, 10**6, signals)
            chunks = [(SampleChunk(patient, float(FS), us, i, np.ascontiguousarray(adc[i : i + FS].T)),
                       DeadLetter("t", 0, i, patient.encode(), None, ""))
                      for i in range(0, adc.shape[0], FS)]  # fmt: skip
            write_batch(conn, BatchKey(f"streams-{patient}", "raw_writer", batch_id),
                        Batch(metas=[(meta, DeadLetter("t", 1, 0, patient.encode()))], chunks=chunks,
                          messages=len(chunks) + 1))


def test_restarted_stream_exports_by_time(db: Db, tmp_path: Path) -> None:
    """A patient whose stream restarts (re-registered, sample indices from 0 again) exports in
    time order: the first stream, the gap between them as invalid samples, then the second."""
    r1, r2 = read_record(MITDB / "101").adc, read_record(MITDB / "106").adc
    patient = f"restart-{uuid.uuid4().hex[:6]}"
    t_a, t_b = T0, T0 + timedelta(seconds=30)
    _store_streams(db, patient, ((t_a, r1[: 20 * FS]), (t_b, r2[: 20 * FS])))
    with psycopg.connect(db.reader) as conn:
        res = export(conn, patient, t_a + timedelta(seconds=10), t_a + timedelta(seconds=45), "npz",
                     tmp_path)  # fmt: skip
    adc = np.load(res.files[0])["adc"]
    assert adc.shape == (35 * FS, 2)
    np.testing.assert_array_equal(adc[: 10 * FS], r1[10 * FS : 20 * FS])
    assert (adc[10 * FS : 20 * FS] == INVALID).all()
    np.testing.assert_array_equal(adc[20 * FS :], r2[: 15 * FS])


def test_range_starting_on_a_stored_beat_keeps_it(db: Db, stored: dict, tmp_path: Path) -> None:
    """Stored times are whole microseconds (360 Hz is not): a range that starts exactly at a
    stored beat's time includes that beat and its sample, and one ending there excludes them."""
    patient, adc, beats = _load(db, stored)
    # a beat whose time was rounded up to the microsecond (1e6 / 360 = 2777 + 7/9 us per sample)
    b = next(int(i) for i in beats[(beats > 5 * FS) & (beats < 20 * FS)] if (7 * int(i)) % 9 >= 5)
    t_b = T0 + timedelta(microseconds=round(b * 1e6 / FS))
    with psycopg.connect(db.reader) as conn:
        z = np.load(export(conn, patient, t_b, t_b + timedelta(seconds=5), "npz", tmp_path / "a").files[0])
        y = np.load(export(conn, patient, t_b - timedelta(seconds=5), t_b, "npz", tmp_path / "b").files[0])
    assert int(z["start_index"]) == b and z["beats"][0] == 0
    np.testing.assert_array_equal(z["adc"][0], adc[b])
    assert int(y["start_index"]) + y["adc"].shape[0] == b and b - int(y["start_index"]) not in y["beats"]


def test_grid_follows_the_stream_covering_the_range(db: Db, tmp_path: Path) -> None:
    """An earlier stream that ended just before the range (half a sample out of phase with the
    new one) does not set the grid: the range comes out exactly as the new stream stored it."""
    r1, r2 = read_record(MITDB / "101").adc, read_record(MITDB / "106").adc
    patient = f"phase-{uuid.uuid4().hex[:6]}"
    t_a = T0
    t_b = T0 + timedelta(seconds=20, microseconds=1500)  # ~half a sample after a whole second
    _store_streams(db, patient, ((t_a, r1[: 20 * FS]), (t_b, r2[: 20 * FS])))
    with psycopg.connect(db.reader) as conn:
        res = export(conn, patient, t_b + timedelta(seconds=1), t_b + timedelta(seconds=9), "npz", tmp_path)
    z = np.load(res.files[0])
    assert int(z["start_index"]) == FS and res.missing == 0
    np.testing.assert_array_equal(z["adc"], r2[FS : 9 * FS])


def test_export_reads_compressed_chunks(pg_timescale: Db, tmp_path: Path) -> None:
    """TimescaleDB compresses waveform chunks after 2 hours: a range read back from a compressed
    chunk (both leads of a patient in one segment) is still bit-exact in every format.

    The patient's 40 s lie in an hour no other test writes (November 2018), so compressing that
    chunk touches nobody else's rows.
    """
    import wfdb

    rec = read_record(MITDB / "106").adc
    patient = f"compressed-{uuid.uuid4().hex[:6]}"
    t0 = datetime(2018, 11, 5, 14, 0, 5, tzinfo=UTC)
    _store_streams(pg_timescale, patient, [(t0, rec[: 40 * FS])])
    with psycopg.connect(pg_timescale.admin, autocommit=True) as conn:
        chunks = conn.execute(
            "SELECT quote_ident(chunk_schema) || '.' || quote_ident(chunk_name) "
            "FROM timescaledb_information.chunks "
            "WHERE hypertable_name = 'waveform' AND range_start <= %s AND range_end > %s",
            (t0, t0)).fetchall()
        assert len(chunks) == 1
        conn.execute("SELECT compress_chunk(%s::regclass, if_not_compressed => true)", (chunks[0][0],))
        state = conn.execute(
            "SELECT is_compressed FROM timescaledb_information.chunks WHERE hypertable_name = 'waveform' "
            "AND quote_ident(chunk_schema) || '.' || quote_ident(chunk_name) = %s", (chunks[0][0],))
        assert state.fetchone() == (True,)
    start, end = t0 + timedelta(seconds=3), t0 + timedelta(seconds=33)
    want = rec[3 * FS : 33 * FS].astype(np.int16)
    with psycopg.connect(pg_timescale.reader) as conn:
        npz = export(conn, patient, start, end, "npz", tmp_path / "np")
        wf = export(conn, patient, start, end, "wfdb", tmp_path / "wfdb")
        pq_res = export(conn, patient, start, end, "parquet", tmp_path / "pq")
    z = np.load(npz.files[0])
    assert npz.missing == 0 and int(z["start_index"]) == 3 * FS
    np.testing.assert_array_equal(z["adc"], want)
    np.testing.assert_array_equal(wfdb.rdrecord(str(wf.files[0].with_suffix("")), physical=False).d_signal,
                                  want)
    import pyarrow.parquet as pq

    table = pq.read_table(pq_res.files[0])
    np.testing.assert_array_equal(np.column_stack([table.column(n).to_numpy() for n in ("MLII", "V1")]),
                                  want)


def test_stored_invalid_samples_are_not_valid(db: Db, tmp_path: Path) -> None:
    """Samples the source marked invalid are stored as -32768 (ingest maps every WFDB format's
    invalid value to it) and exported as missing: -32768 in the ADC, False in ``valid``."""
    rec = read_record(MITDB / "101")
    adc = rec.adc[: 4 * FS].copy()
    adc[FS + 10 : FS + 50, 0] = INVALID
    patient = f"inv-{uuid.uuid4().hex[:6]}"
    start_us = int(T0.timestamp() * 1e6)
    meta = PatientMeta(patient, "101", float(FS), start_us, 0, rec.n_samples, rec.signals)
    chunks = [(SampleChunk(patient, float(FS), start_us, i, np.ascontiguousarray(adc[i : i + FS].T)),
               DeadLetter("t", 0, i, patient.encode(), None, "")) for i in range(0, 4 * FS, FS)]
    with psycopg.connect(db.writer) as conn:
        write_batch(conn, BatchKey(f"export-inv-{patient}", "raw_writer", 0),
                    Batch(metas=[(meta, DeadLetter("t", 1, 0, patient.encode()))], chunks=chunks,
                          messages=len(chunks) + 1))
    with psycopg.connect(db.reader) as conn:
        res = export(conn, patient, T0, T0 + timedelta(seconds=4), "npz", tmp_path)
    z = np.load(res.files[0])
    np.testing.assert_array_equal(z["adc"], adc)
    want = adc != INVALID
    assert (~want).sum() == 40
    np.testing.assert_array_equal(z["valid"], want)
    assert res.missing == 40


def _register(db: Db, patient: str, fs: float, n_leads: int, start_us: int, samples: np.ndarray) -> None:
    sig = tuple(SignalMeta(f"L{i}", 200.0, 0, 12, 0) for i in range(n_leads))
    meta = PatientMeta(patient, "synthetic", fs, start_us, 0, samples.shape[1], sig)
    ch = SampleChunk(patient, fs, start_us, 0, samples)
    with psycopg.connect(db.writer) as conn:
        write_batch(conn, BatchKey(f"export-{patient}", "raw_writer", 0),
                    Batch(metas=[(meta, DeadLetter("t", 1, 0, patient.encode()))],
                          chunks=[(ch, DeadLetter("t", 0, 1, patient.encode()))], messages=2))


def test_a_very_slow_signal_exports_over_its_whole_clock(db: Db, tmp_path: Path) -> None:
    """1e-8 Hz (the codec takes any rate above 0): the reads' look-back margin overflowed into a
    bare OverflowError, and the 10-minute pages would have been millions of queries. The margin
    is clamped to the signal clock and a page holds about as many samples at any rate."""
    patient = f"slow-{uuid.uuid4().hex[:6]}"
    t0 = datetime(2000, 1, 1, tzinfo=UTC)
    _register(db, patient, 1e-8, 1, int(t0.timestamp() * 1e6), np.array([[5, -7, 9]], np.int16))
    with psycopg.connect(db.reader) as conn:
        res = export(conn, patient, datetime(1900, 1, 1, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC),
                     "npz", tmp_path)  # fmt: skip
    z = np.load(res.files[0])
    assert (z["adc"][z["valid"]] == [5, -7, 9]).all() and z["valid"].sum() == 3


def test_the_size_cap_counts_every_lead(db: Db, tmp_path: Path) -> None:
    """A day of 32 leads at 360 Hz is 1.0e9 samples (3 GB in memory): refused by name. The cap
    used to count one lead's samples, and let it through."""
    patient = f"wide-{uuid.uuid4().hex[:6]}"
    _register(db, patient, 360.0, 32, int(T0.timestamp() * 1e6), np.zeros((32, 360), np.int16))
    with psycopg.connect(db.reader) as conn:
        with pytest.raises(ExportError, match="x 32 leads; export at most"):
            export(conn, patient, T0, T0 + timedelta(days=1), "npz", tmp_path)
        res = export(conn, patient, T0, T0 + timedelta(seconds=2), "npz", tmp_path)
    assert res.samples == 720
