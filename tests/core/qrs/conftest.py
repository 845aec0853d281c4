"""Fixtures for the QRS detector tests: real MIT-BIH records shipped in ingest/sample_records/mitdb."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pytest
import wfdb

from ecgdash.ingest.sample_records import mitdb

DATA = mitdb()
BEATS = frozenset("NLRaVFJASEj/QB?!enfr")  # wfdb's QRS annotation symbols


@lru_cache(maxsize=8)
def load_record(name: str) -> tuple[np.ndarray, float, np.ndarray]:
    """Physical signal (n, 2) in mV, fs in Hz, reference beat sample indices."""
    path = DATA / name
    if not path.with_suffix(".hea").exists():
        pytest.skip(f"test record {path} is missing")
    rec = wfdb.rdrecord(str(path))
    ann = wfdb.rdann(str(path), "atr")
    beats = np.array([s for s, y in zip(ann.sample, ann.symbol) if y in BEATS], dtype=np.int64)
    return np.asarray(rec.p_signal, dtype=np.float64), float(rec.fs), beats


def se_ppv(ref: np.ndarray, det: np.ndarray, tol: int) -> tuple[float, float]:
    """Sensitivity and positive predictivity (%) with one-to-one matching within +-tol."""
    det = np.sort(det)
    used = np.zeros(det.size, dtype=bool)
    tp = 0
    for r in ref:
        lo, hi = np.searchsorted(det, [r - tol, r + tol + 1])
        free = [j for j in range(lo, hi) if not used[j]]
        if free:
            used[min(free, key=lambda j: abs(det[j] - r))] = True
            tp += 1
    return 100 * tp / max(ref.size, 1), 100 * tp / max(det.size, 1)


@pytest.fixture
def mitdb():
    """Loader of a committed MIT-BIH record: name -> (signal mV (n, 2), fs Hz, beats)."""
    return load_record


@pytest.fixture
def score():
    """(reference, detections, tolerance in samples) -> (Se %, +P %)."""
    return se_ppv
