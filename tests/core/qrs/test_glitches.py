"""A single-sample glitch (an electrode pop, a corrupt ADC word) costs at most two beats.

The detector's signal and noise levels learn from each candidate's feature value. A glitch 1000x
or 10000x the lead's range made one candidate that size, the QRS level jumped with it and then
halved back down every ``recover_s``: three glitches cost 21-79 beats on 106 and 208 (7-26 each).
The levels now learn from the value capped at ``detector.LEVEL_CAP`` x the signal level (see
there): 1-6 beats for the three. What is left falls within 1.6 s of a glitch, which is itself
taken as a beat (presumably the refractory and T-wave tests against it, and its lead flagged an
artifact for the next window; not analysed further).
"""

from __future__ import annotations

import numpy as np
import pytest

from ecgdash.core.qrs import detect_beats, detector
from tests.helpers.qrs_chunks import assert_chunk_invariant

GLITCH_S = (60.0, 600.0, 1200.0)


def _glitched(x: np.ndarray, fs: float, times: float) -> np.ndarray:
    """``x`` with one sample of lead 1 at each of GLITCH_S set to ``times`` x the lead's range."""
    y = x.copy()
    span = float(np.percentile(x[:, 0], 99.9) - np.percentile(x[:, 0], 0.1))
    for t in GLITCH_S:
        if int(t * fs) < y.shape[0]:
            y[int(t * fs), 0] = times * span
    return y


def _missed(ref: np.ndarray, det: np.ndarray, tol: int) -> int:
    return sum(1 for r in ref.tolist() if not (np.abs(det - r) <= tol).any())


@pytest.mark.parametrize("record", ["106", "208"])
@pytest.mark.parametrize("times", [1e3, 1e4])
@pytest.mark.parametrize("leads", ["all", "one"])
def test_a_glitch_costs_at_most_two_beats(mitdb, record, times, leads) -> None:
    x, fs, ref = mitdb(record)
    if leads == "one":
        x = np.ascontiguousarray(x[:, :1])
    tol = int(0.15 * fs)
    clean = _missed(ref, detect_beats(x, fs), tol)
    got = _missed(ref, detect_beats(_glitched(x, fs, times), fs), tol)
    assert got <= clean + 2 * len(GLITCH_S), (clean, got)


def test_glitch_cap_is_what_helps(mitdb, monkeypatch) -> None:
    """Without the cap the same glitches cost many beats (so the test above can fail)."""
    x, fs, ref = mitdb("106")
    y, tol = _glitched(x, fs, 1e4), int(0.15 * fs)
    monkeypatch.setattr(detector, "LEVEL_CAP", np.inf)
    assert _missed(ref, detect_beats(y, fs), tol) >= _missed(ref, detect_beats(x, fs), tol) + 10


def test_glitched_stream_is_chunk_invariant(mitdb) -> None:
    x, fs, _ = mitdb("208")
    assert_chunk_invariant(_glitched(x[: int(120 * fs)], fs, 1e4), fs)


@pytest.mark.parametrize("leads", ["all", "one"])
def test_an_absurd_sample_blinds_for_seconds_not_for_good(mitdb, monkeypatch, leads) -> None:
    """One sample of 1e200 (a float API caller's garbage; 16-bit ADC data cannot carry it) rings
    the band-pass for about 14 s and fills the lead's QRS history, so beats are lost for 3-36 s
    after it (106, 208, 101, 119). It used to leave the feature's running sum about -1e184, and
    every later value 0: no beat again. From 40 s after it on, every beat is found that is found
    without it. Two guards keep the sum (of the squared feature) exact, and either alone suffices:
    the reseeding, and ``ENERGY_CAP`` on each value before it is squared; with both off
    (``RESEED_WINDOWS`` huge, the cap infinite) almost no beat is found after it."""
    x, fs, ref = mitdb("106")
    if leads == "one":
        x = np.ascontiguousarray(x[:, :1])
    y = x.copy()
    y[int(60 * fs), 0] = 1e200
    tol, after = int(0.15 * fs), ref[ref > int(100 * fs)]
    clean = _missed(after, detect_beats(x, fs), tol)
    assert _missed(after, detect_beats(y, fs), tol) <= clean
    reseed = detector.RESEED_WINDOWS
    monkeypatch.setattr(detector, "RESEED_WINDOWS", 10**9)  # the cap alone
    assert _missed(after, detect_beats(y, fs), tol) <= clean
    monkeypatch.setattr(detector, "ENERGY_CAP", np.inf)  # neither
    with np.errstate(invalid="ignore", over="ignore"):
        assert _missed(after, detect_beats(y, fs), tol) >= 0.9 * after.size
    monkeypatch.setattr(detector, "RESEED_WINDOWS", reseed)  # the reseeding alone
    assert _missed(after, detect_beats(y, fs), tol) <= clean


def test_a_huge_dc_offset_costs_no_beat(mitdb, monkeypatch) -> None:
    """Window 0 zeroes slopes below ``FLAT_RESIDUE`` x the level (the band-pass residue of a flat
    line: at most 5e-14 x, measured up to 32 kHz). At 1e-9 a DC offset of 1e9 zeroed every QRS of
    the first window and the first 68 s of 106 were lost."""
    x, fs, ref = mitdb("106")
    tol = int(0.15 * fs)
    assert _missed(ref, detect_beats(x + 1e9, fs), tol) == _missed(ref, detect_beats(x, fs), tol)
    monkeypatch.setattr(detector, "FLAT_RESIDUE", 1e-9)
    assert _missed(ref, detect_beats(x + 1e9, fs), tol) >= 50
