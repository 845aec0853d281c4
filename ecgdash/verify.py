"""Check what the database holds against the source recordings: bit-exact, once, complete."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import psycopg

from ecgdash.ingest.records import Recording
from ecgdash.timescale import waveform


@dataclass
class VerifyResult:
    samples_stored: int = 0  # summed over leads
    samples_mismatched: int = 0  # stored value differs from the source record
    duplicates: int = 0  # samples stored more than once
    missing: int = 0  # expected but not stored
    latencies_s: list[float] = field(default_factory=list)  # per chunk: stored - due
    per_patient: dict[str, int] = field(default_factory=dict)


def verify_store(
    conn: psycopg.Connection,
    recordings: Mapping[str, Recording],
    expected: Mapping[str, tuple[str, int]],
    since: datetime,
    speed: float | None = None,
    paced_from: datetime | None = None,
) -> VerifyResult:
    """Compare chunks stored since `since` of each patient in `expected` (record, samples/lead).

    Latency of a chunk = time it was stored - time its last sample was due at replay `speed`
    (recorded, at speed 1), computed only when `speed` is given. The replay paced sample 0 at
    `paced_from` (wall clock; default: the stream's start time, the case when it starts now).
    """
    res = VerifyResult()
    covered: dict[tuple[str, int], int] = defaultdict(int)  # distinct samples
    ends: dict[tuple[str, int], int] = {}
    for patient in expected:  # one patient at a time bounds the memory a fetch takes
        rows = waveform.chunks_with_source(conn, patient, since)
        for pid, rec_name, offset, sig, idx, samples, t, stored, fs, start in rows:
            rec = recordings[rec_name]
            got = np.asarray(samples, dtype=np.int16)
            n = got.size
            src = rec.adc[(offset + idx + np.arange(n)) % rec.n_samples, sig]
            res.samples_mismatched += int(np.count_nonzero(src != got))
            res.samples_stored += n
            res.per_patient[pid] = res.per_patient.get(pid, 0) + n
            key = (pid, sig)
            prev_end = ends.get(key, 0)
            overlap = max(0, min(prev_end, idx + n) - idx)
            res.duplicates += overlap
            covered[key] += n - overlap
            ends[key] = max(prev_end, idx + n)
            if speed:
                due = (paced_from or start) + (t - start + _seconds(n / fs)) / speed
                res.latencies_s.append((stored - due).total_seconds())
    for pid, (rec_name, n) in expected.items():
        for sig in range(len(recordings[rec_name].signals)):
            res.missing += max(0, n - covered.get((pid, sig), 0))
    return res


def _seconds(s: float) -> timedelta:
    return timedelta(seconds=s)


def percentile(values: list[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None
