"""Where things go in a dataset, and how a patient's range is cut into units of work.

A *unit* is one patient's samples in ``[t0, t1)`` within one UTC day (and, for the Spark
engine, one slice of it): every file of the dataset belongs to one unit, so the local exporter
and Spark's tasks write the same files. Times are epoch microseconds on the signal clock.

Layout of a dataset (``<table>`` folders are hive-partitioned by ``patient`` and ``date``; the
partition value is percent-encoded as Hive does, and every file also holds the exact
``patient_id`` as a column, whatever type a reader infers for the folder names)::

    manifest.json                      written last: query, counts, a SHA-256 per file
    signals/patient=P/part-0.parquet   leads: name, fs, gain, baseline, units (parquet)
    samples/patient=P/date=D/part-HHMMSS.parquet     one row per stored sample and lead
    windows/patient=P/date=D/part-HHMMSS.parquet     one row per fixed-length window
    beats/ quality/ annotations/ alarms/  (same partitions)   labels (parquet)
    RECORDS, <P>/<P>_<YYYYMMDD>.hea/.dat/.qrs/.atr/.alm/.sqi  (wfdb)
    <P>/<P>_<YYYYMMDD>[_windows].npz                             (npz)
    review/<P>/alarm-<id>-<kind>.png   (--review-png)
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

from ecgdash.core.errors import ExportError

SCHEMA_VERSION = 1  # bump when a table's columns or a file's layout change
DAY_US = 86_400_000_000
FORMATS = ("parquet", "wfdb", "npz")
LAYOUTS = ("samples", "windows")
LABEL_TABLES = ("beats", "quality", "annotations", "alarms")


@dataclass(frozen=True)
class LeadInfo:
    """One lead as WFDB describes it: physical = (adc - baseline) / gain."""

    name: str
    gain: float
    baseline: int
    units: str
    adc_res: int
    adc_zero: int


@dataclass(frozen=True)
class PatientPlan:
    """One cohort member: its leads, its sample grid, and its range (clipped to stored data)."""

    patient: str
    fs: float  # Hz
    leads: tuple[LeadInfo, ...]
    base_us: int  # a stored chunk's time: the grid is base_us + k * 1e6 / fs
    base_index: int  # that chunk's stream index: grid k is stream sample base_index + k
    start_us: int
    end_us: int
    bed: str = ""

    def k_of(self, t_us: int) -> int:
        """The first grid index at or after `t_us` (stored times are rounded to 1 µs)."""
        return math.ceil((t_us - self.base_us) * self.fs / 1e6 - 1.5e-6 * self.fs)

    def t_of(self, k: int) -> int:
        return self.base_us + round(k * 1e6 / self.fs)

    @property
    def record(self) -> str:
        """The patient id as a WFDB record/file name (letters, digits, _ and -)."""
        return record_name(self.patient)


@dataclass(frozen=True)
class Unit:
    """One patient's ``[t0_us, t1_us)`` within one UTC day: the files of one task."""

    patient: str
    t0_us: int
    t1_us: int

    @property
    def day(self) -> str:
        return day_of(self.t0_us)

    @property
    def part(self) -> str:
        """``part-HHMMSS``: the unit's start within its day."""
        return "part-" + datetime.fromtimestamp(self.t0_us / 1e6, UTC).strftime("%H%M%S")


def day_of(t_us: int) -> str:
    return datetime.fromtimestamp(t_us // 1_000_000, UTC).strftime("%Y-%m-%d")


def record_name(patient: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "-", patient)


def hive_dir(table: str, patient: str, day: str | None = None) -> str:
    """``<table>/patient=<P>[/date=<D>]``, the value percent-encoded as Hive escapes it."""
    d = f"{table}/patient={quote(patient, safe='_.-')}"
    return d if day is None else f"{d}/date={day}"


def plan_units(plan: PatientPlan, slice_s: float = 86_400.0, window_s: float | None = None
               ) -> list[Unit]:
    """Cut ``[plan.start_us, plan.end_us)`` at UTC midnights and every `slice_s` of a day.

    With `window_s`, cuts move to the next window start (windows of the grid from the range's
    first sample), so no window straddles two units and each unit's windows start on one date.
    """
    step = int(round(slice_s * 1e6))
    if step <= 0 or DAY_US % step:
        raise ValueError(f"slice {slice_s} s must divide a day")
    cuts = list(range((plan.start_us // step + 1) * step, plan.end_us, step))
    if window_s is not None:
        length = window_samples(plan.fs, window_s)
        k_start = plan.k_of(plan.start_us)

        def snap(t: int) -> int:
            w = math.ceil((plan.k_of(t) - k_start) / length)
            return plan.t_of(k_start + w * length)

        cuts = sorted({c for c in (snap(t) for t in cuts) if plan.start_us < c < plan.end_us})
    edges = [plan.start_us, *cuts, plan.end_us]
    return [Unit(plan.patient, a, b) for a, b in zip(edges[:-1], edges[1:], strict=True) if a < b]


def window_samples(fs: float, window_s: float) -> int:
    n = round(window_s * fs)
    if n < 1:
        raise ExportError(f"--window {window_s} s holds no sample at {fs:g} Hz (at least {1 / fs:.3g} s)")
    return n
