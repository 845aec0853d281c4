"""Bad input never raises; quality windows flag flat, saturated, missing and noisy signal."""

from __future__ import annotations

import numpy as np
import pytest

from ecgdash.core.qrs import LeadFlag, StreamingQRSDetector, detect_beats

FS = 360.0


def run(x, fs=FS, chunk=None):
    det = StreamingQRSDetector(fs, x.shape[1])
    beats, wins = [], []
    step = chunk or max(len(x), 1)
    for pos in range(0, len(x), step):
        r = det.process(x[pos : pos + step])
        beats += r.beats
        wins += r.windows
    r = det.finish()
    return beats + r.beats, wins + r.windows


def lead_flags(wins, lead, first_s, last_s):
    return [w.flags[lead] for w in wins if first_s * FS <= w.start < last_s * FS]


@pytest.fixture
def ecg(mitdb):
    x, _, _ = mitdb("119")
    return x[: int(60 * FS)].copy()


def test_flat_lead_is_flagged_and_other_lead_carries(ecg, mitdb):
    x = ecg.copy()
    x[int(20 * FS) : int(40 * FS), 0] = x[int(20 * FS), 0]  # lead 0 off for 20 s
    beats, wins = run(x)
    assert all(f & LeadFlag.FLAT for f in lead_flags(wins, 0, 21, 39))
    assert all(f == 0 for f in lead_flags(wins, 1, 21, 39))
    mid = [b for b in beats if 22 * FS < b.index < 38 * FS]
    assert len(mid) >= 10 and all(b.leads == (1,) for b in mid)


def test_all_flat_gives_no_beats_and_unusable_windows():
    x = np.full((int(20 * FS), 2), 1024.0)
    beats, wins = run(x)
    assert beats == []
    assert all(w.quality == 0 and not w.usable for w in wins)


def test_saturation_flagged(ecg):
    x = ecg.copy()
    seg = slice(int(20 * FS), int(30 * FS))
    x[seg, 0] = np.clip(x[seg, 0] * 8, -1.0, 1.0)  # heavy clipping at +-1 mV
    _, wins = run(x)
    assert sum(bool(f & LeadFlag.SATURATED) for f in lead_flags(wins, 0, 21, 29)) >= 6


def test_nan_gap_flagged_and_no_exception(ecg):
    x = ecg.copy()
    x[int(10 * FS) : int(15 * FS), :] = np.nan
    x[int(30 * FS) : int(30 * FS) + 3, 1] = np.inf
    beats, wins = run(x, chunk=500)
    assert all(f & LeadFlag.GAP for f in lead_flags(wins, 0, 11, 14))
    assert all(b.hr_bpm is None for b in beats if 11 * FS <= b.index < 15 * FS)
    assert len([b for b in beats if b.index > 20 * FS]) >= 40


def test_heavy_noise_flagged(ecg):
    rng = np.random.default_rng(0)
    x = ecg.copy()
    seg = slice(int(20 * FS), int(40 * FS))
    x[seg] += rng.normal(0, 1.5, size=x[seg].shape)  # ~1.5 mV white noise on both leads
    beats, wins = run(x)
    noisy = [w for w in wins if 22 * FS <= w.start < 38 * FS]
    assert sum(not w.usable for w in noisy) >= 0.8 * len(noisy)
    assert all(b.hr_bpm is None for b in beats if 23 * FS <= b.index < 38 * FS)


@pytest.mark.parametrize(
    "x",
    [
        np.zeros((0, 2)),
        np.zeros((1, 2)),
        np.full((5, 2), np.nan),
        np.full((3000, 2), np.nan),
        np.array([[1e308, -1e308]] * 50),
        np.random.default_rng(1).normal(size=(2000, 2)),
    ],
    ids=["empty", "one", "nan5", "nan3000", "huge", "noise"],
)
def test_degenerate_input_never_raises(x):
    for chunk in (1, 3, None):
        run(x, chunk=chunk)
    detect_beats(x, FS)


def test_wrong_shape_is_a_clear_error():
    det = StreamingQRSDetector(FS, 2)
    with pytest.raises(ValueError, match="shape"):
        det.push(np.zeros((10, 3)))


def test_window_floor_is_low_on_clean_ecg_and_rises_with_noise(ecg):
    """``QualityWindow.floor``: the lowest between-beat floor of the usable leads. A clean lead's
    between-beat slope stays well below its QRS slope; noise on every lead lifts it (the detector
    reads it to tell noise apart, see ``DetectorConfig.noisy_early``)."""
    x = ecg.copy()
    rng = np.random.default_rng(3)
    amp = np.ptp(x[: int(10 * FS)], axis=0)
    x[int(30 * FS) :] += rng.normal(size=x[int(30 * FS) :].shape) * 0.15 * amp
    _, wins = run(x)
    clean = [w.floor for w in wins if 10 * FS <= w.start < 29 * FS]
    noisy = [w.floor for w in wins if 40 * FS <= w.start < 59 * FS]
    assert max(clean) <= 0.35 < min(noisy)
