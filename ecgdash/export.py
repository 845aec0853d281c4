"""Export a stored range of one patient's ECG for ML work: WFDB (with beat annotations), Parquet
or NumPy.

The range is ``[start, end)`` on the signal clock: each stored chunk's ``time`` is its first
sample's, and sample ``j`` of it is at ``time + j / fs``. The output grid takes its phase from the
first stored chunk in reach; chunks are placed by their time, not by stream sample index, so a
patient whose stream was restarted (indices from 0 again) still exports in time order. Samples
are exported exactly as stored (ADC units, int16), with
each lead's gain (ADC units per mV) and baseline, so ``mV = (adc - baseline) / gain``. Samples
missing in the range (a gap in the stream) are ``-32768``, WFDB's "invalid sample" value for
format 16, in every format, as are samples the source itself marked invalid (ingest maps each WFDB
format's invalid value to -32768); a ``valid`` mask says the same in Parquet and NumPy.

Formats (each written into ``out_dir`` with base name ``<patient>_<start>``):

* ``wfdb``: ``.hea`` + ``.dat`` (format 16, the stored ADC values and each lead's gain and
  baseline), and a ``.qrs`` annotation file with one ``N`` per detected beat (our detector does
  not classify beats; ``N`` is the WFDB code for "beat"). Read with ``wfdb.rdrecord`` /
  ``wfdb.rdann(..., "qrs")``.
* ``parquet``: ``<name>.parquet``, one row per sample: ``time`` (UTC, µs), ``sample_index``, one
  int16 column per lead (ADC), ``valid``; the leads' fs/gain/baseline/units are in the schema
  metadata (key ``ecgdash``). ``<name>_beats.parquet``: time, sample_index, rr_ms, hr_bpm,
  leads, quality.
* ``npz``: ``adc`` (n, leads) int16, ``valid`` (n, leads) bool, ``fs``, ``gain``, ``baseline``,
  ``leads``, ``start_index``, ``start_time_us``, and ``beats`` (sample offsets into ``adc``),
  ``beat_rr_ms``, ``beat_hr_bpm``.

The database is read as ``ecg_reader`` with parameterised SQL, page by page (one
query per 10 minutes of signal), with a progress bar.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

import numpy as np
import psycopg
from tqdm import tqdm

from ecgdash.core.clock import CLOCK_MAX, CLOCK_MIN, check_range, datetime_to_us
from ecgdash.core.codec import INVALID_SAMPLE
from ecgdash.core.errors import ExportError
from ecgdash.timescale import heart_rate, patients, waveform
from ecgdash.timescale.patients import Lead

Format = Literal["wfdb", "parquet", "npz"]
FORMATS: tuple[str, ...] = ("wfdb", "parquet", "npz")
INVALID = INVALID_SAMPLE  # WFDB format 16 "invalid sample"
PAGE_SAMPLES = 216_000  # samples per lead read per query (10 minutes of chunk time at 360 Hz)
# samples of all leads at once (3 bytes each in memory: 2.4 GB; ~12 days of 2 leads at 360 Hz). It
# used to count per lead, so 12 or 32 leads within it asked for 14 or 38 GB
MAX_SAMPLES = 800_000_000

@dataclass
class Extract:
    """One patient's samples and beats in a range, as stored."""

    patient: str
    fs: float
    start_index: int  # stream index of adc[0]
    start_time: datetime  # time of adc[0]
    leads: list[Lead]
    adc: np.ndarray  # (n, leads) int16, INVALID where nothing is stored
    valid: np.ndarray  # (n, leads) bool
    beats: np.ndarray  # sample offsets into adc
    beat_time: list[datetime]
    beat_rr_ms: np.ndarray  # float, NaN where unknown
    beat_hr_bpm: np.ndarray
    beat_leads: list[str]
    beat_quality: np.ndarray


@dataclass(frozen=True)
class ExportResult:
    files: list[Path]
    samples: int  # per lead
    missing: int  # samples (summed over leads) with nothing stored
    beats: int


def read_range(conn: psycopg.Connection, patient: str, start: datetime, end: datetime,
               show_progress: bool = False) -> Extract:
    """The samples and beats of ``patient`` in ``[start, end)``; ExportError on a bad request."""
    check_range(start, end)
    fs_of = patients.sampling_rates(conn, [patient])
    if patient not in fs_of:
        raise ExportError(f"unknown patient {patient!r}")
    fs = fs_of[patient]
    leads = patients.leads(conn, patient)
    if not leads:
        raise ExportError(f"patient {patient!r} has no registered signals")
    span_s = (CLOCK_MAX - CLOCK_MIN).total_seconds()
    slack = timedelta(seconds=min(max(10.0, 10.0 * 360 / fs), span_s))  # a chunk's reach back
    lo = CLOCK_MIN if start - CLOCK_MIN <= slack else start - slack
    # The output grid follows the stored chunks' own clock (the first chunk in reach sets the
    # phase): sample k is at base + k / fs. Chunk times, not stream indices, place samples, so a
    # patient re-registered by a later stream (sample indices restart) still exports right.
    # the grid's phase: the chunk covering `start` if one does, else the first chunk after it
    # (never an earlier stream's chunk that ends before `start`)
    first = waveform.chunk_at_or_before(conn, patient, start, lo)
    if first is None or first.time + timedelta(seconds=first.length / fs) <= start:
        first = waveform.first_chunk_after(conn, patient, start, end)
    if first is None:
        raise ExportError(f"patient {patient!r} has no stored samples in [{start.isoformat()}, "
                          f"{end.isoformat()})")  # fmt: skip
    base, base_index = first.time, first.sample_index

    def k_of(t: datetime) -> float:
        return (t - base) / timedelta(microseconds=1) * fs / 1e6

    # stored times are rounded to whole microseconds: a sample stored at `start` is in, one
    # stored at `end` is out, within that rounding
    tol = 1.5e-6 * fs
    k0, k1 = math.ceil(k_of(start) - tol), math.ceil(k_of(end) - tol)
    n = k1 - k0
    if n * len(leads) > MAX_SAMPLES:
        raise ExportError(f"range holds {n} samples x {len(leads)} leads; export at most {MAX_SAMPLES} "
                          "samples (all leads) at once")
    pos = {lead.index: k for k, lead in enumerate(leads)}
    adc = np.full((n, len(leads)), INVALID, dtype=np.int16)
    valid = np.zeros((n, len(leads)), dtype=bool)
    # in pages of chunk time (plain queries: the embedded server has no server-side cursors)
    page = timedelta(seconds=min(PAGE_SAMPLES / fs, span_s))  # at any fs, about as many samples
    edges = [lo]
    while edges[-1] < end:
        edges.append(end if end - edges[-1] <= page else edges[-1] + page)
    with tqdm(total=n * len(leads), unit="sample", unit_scale=True, desc=f"export {patient}",
              disable=not show_progress) as bar:  # fmt: skip
        for w0, w1 in zip(edges[:-1], edges[1:], strict=True):
            for sig, tc, samples in waveform.page(conn, patient, w0, w1):
                col = pos.get(sig)
                if col is None:
                    continue
                s = np.asarray(samples, dtype=np.int16)
                at = round(k_of(tc)) - k0  # output index of the chunk's first sample
                a, b = max(at, 0), min(at + s.size, n)
                if a >= b:
                    continue
                adc[a:b, col] = s[a - at : b - at]
                valid[a:b, col] = s[a - at : b - at] != INVALID  # a stored "invalid sample" too
                bar.update(b - a)
    if not valid.any():
        raise ExportError(f"patient {patient!r} has no stored samples in [{start.isoformat()}, "
                          f"{end.isoformat()})")  # fmt: skip
    t_start = base + timedelta(microseconds=round(k0 * 1e6 / fs))
    margin = timedelta(milliseconds=1)  # the same rounding; the offsets below decide
    brows = heart_rate.beats_between(conn, patient, start - margin, end + margin)
    offsets = np.array([round(k_of(b.time)) - k0 for b in brows], dtype=np.int64)
    keep = (offsets >= 0) & (offsets < n)
    brows = [b for b, ok in zip(brows, keep.tolist(), strict=True) if ok]
    return Extract(
        patient=patient, fs=fs, start_index=int(base_index) + k0, start_time=t_start, leads=leads,
        adc=adc, valid=valid, beats=offsets[keep], beat_time=[b.time for b in brows],
        beat_rr_ms=np.array([np.nan if b.rr_ms is None else b.rr_ms for b in brows], dtype=float),
        beat_hr_bpm=np.array([np.nan if b.hr_bpm is None else b.hr_bpm for b in brows], dtype=float),
        beat_leads=[b.leads for b in brows], beat_quality=np.array([b.quality for b in brows], dtype=float),
    )  # fmt: skip


def base_name(ex: Extract) -> str:
    """``<patient>_<UTC start, compact>``: also a valid WFDB record name."""
    stamp = ex.start_time.astimezone(UTC).strftime("%Y%m%dT%H%M%S")
    return re.sub(r"[^A-Za-z0-9_-]", "-", f"{ex.patient}_{stamp}")


def write_wfdb(ex: Extract, out_dir: Path) -> list[Path]:
    import wfdb

    name = base_name(ex)
    t = ex.start_time.astimezone(UTC)
    wfdb.wrsamp(
        name, fs=ex.fs, units=[lead.units for lead in ex.leads],
        sig_name=[lead.name for lead in ex.leads], d_signal=ex.adc.astype(np.int64),
        fmt=["16"] * len(ex.leads), adc_gain=[lead.gain for lead in ex.leads],
        baseline=[lead.baseline for lead in ex.leads], write_dir=str(out_dir),
        base_date=t.date(), base_time=t.time().replace(tzinfo=None),
        comments=[f"ecgdash export of patient {ex.patient}, stream samples "
                  f"{ex.start_index}..{ex.start_index + ex.adc.shape[0] - 1}; time UTC"],
    )  # fmt: skip
    files = [out_dir / f"{name}.hea", out_dir / f"{name}.dat"]
    if ex.beats.size:
        wfdb.wrann(name, "qrs", ex.beats, symbol=["N"] * ex.beats.size, write_dir=str(out_dir),
                   fs=ex.fs)  # fmt: skip
        files.append(out_dir / f"{name}.qrs")
    return files


def write_parquet(ex: Extract, out_dir: Path) -> list[Path]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    name = base_name(ex)
    n = ex.adc.shape[0]
    t0_us = datetime_to_us(ex.start_time)
    idx = np.arange(n, dtype=np.int64)
    cols: dict[str, pa.Array] = {
        "time": pa.array(t0_us + np.round(idx * 1e6 / ex.fs).astype(np.int64), pa.timestamp("us", "UTC")),
        "sample_index": pa.array(ex.start_index + idx),
    }
    for k, lead in enumerate(ex.leads):
        cols[lead.name] = pa.array(ex.adc[:, k])
    cols["valid"] = pa.array(ex.valid.all(axis=1))
    meta = {"patient": ex.patient, "fs": ex.fs, "invalid_sample": INVALID, "leads": [
        {"name": lead.name, "gain_adc_per_unit": lead.gain, "baseline": lead.baseline,
         "units": lead.units, "adc_res": lead.adc_res, "adc_zero": lead.adc_zero}
        for lead in ex.leads]}  # fmt: skip
    table = pa.table(cols).replace_schema_metadata({"ecgdash": json.dumps(meta)})
    wave = out_dir / f"{name}.parquet"
    pq.write_table(table, wave, compression="zstd")
    beats = pa.table({
        "time": pa.array(ex.beat_time, pa.timestamp("us", "UTC")),
        "sample_index": pa.array(ex.start_index + ex.beats, pa.int64()),
        "rr_ms": pa.array(ex.beat_rr_ms, pa.float64(), from_pandas=True),
        "hr_bpm": pa.array(ex.beat_hr_bpm, pa.float64(), from_pandas=True),
        "leads": pa.array(ex.beat_leads, pa.string()),
        "quality": pa.array(ex.beat_quality, pa.float64()),
    })  # fmt: skip
    beat_file = out_dir / f"{name}_beats.parquet"
    pq.write_table(beats, beat_file)
    return [wave, beat_file]


def write_npz(ex: Extract, out_dir: Path) -> list[Path]:
    path = out_dir / f"{base_name(ex)}.npz"
    np.savez_compressed(
        path, adc=ex.adc, valid=ex.valid, fs=ex.fs,
        gain=np.array([lead.gain for lead in ex.leads]),
        baseline=np.array([lead.baseline for lead in ex.leads]),
        leads=np.array([lead.name for lead in ex.leads]), start_index=ex.start_index,
        start_time_us=datetime_to_us(ex.start_time), beats=ex.beats,
        beat_rr_ms=ex.beat_rr_ms, beat_hr_bpm=ex.beat_hr_bpm,
    )  # fmt: skip
    return [path]


WRITERS = {"wfdb": write_wfdb, "parquet": write_parquet, "npz": write_npz}


def export(conn: psycopg.Connection, patient: str, start: datetime, end: datetime, fmt: str,
           out_dir: Path, show_progress: bool = False) -> ExportResult:
    """Read ``patient``'s ``[start, end)`` and write it in ``fmt`` into ``out_dir``."""
    if fmt not in WRITERS:
        raise ExportError(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")
    ex = read_range(conn, patient, start, end, show_progress)
    out_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    files = WRITERS[fmt](ex, out_dir)
    for f in files:  # patient data: readable by the exporting user only
        f.chmod(0o600)
    return ExportResult(files, int(ex.adc.shape[0]), int((~ex.valid).sum()), int(ex.beats.size))
