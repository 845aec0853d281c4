"""Bradycardia below 40 bpm: the QRS level halves only after a beat cycle without a beat.

The detector halves its learnt QRS level when no beat has come for ``recover_s`` (1.5 s), so that
it recovers from a missed beat or a drop in amplitude. Below 40 bpm every RR interval is longer
than that: the level halved before every beat, the main threshold reached the T-P baseline's noise,
and its peaks became beats (an adversarial probe: 30 bpm with 20 uV of noise on a straight T-P
baseline, 15 shared records: +P 96.6 %, XQRS 99.9 %). The interval is now the longer of
``recover_s`` and ``recover_rr`` x the median RR (``DetectorConfig.recover_rr``).
"""

from __future__ import annotations

import numpy as np
import pytest

from ecgdash.core.qrs import DetectorConfig, detect_beats
from tests.helpers.qrs_chunks import assert_chunk_invariant


def _slow(x: np.ndarray, ref: np.ndarray, fs: float, rr_s: float = 2.0, noise_mv: float = 0.02,
          seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The record at a median RR of ``rr_s``: each beat's P-QRS-T ([R - 0.2 s, R + 0.4 s]) kept at
    its own speed, every RR interval stretched by the same factor, the longer T-P gap a straight
    line between its two ends plus white noise of ``noise_mv`` (a filtered monitor output or an
    ECG simulator's baseline). Returns the signal and its beats' sample indices."""
    rng = np.random.default_rng(seed)
    pre, post = int(0.2 * fs), int(0.4 * fs)
    k = rr_s * fs / float(np.median(np.diff(ref)))
    ref = ref[(ref >= pre) & (ref + post < x.shape[0])]
    pieces, beats, pos = [], [], 0
    for i, r in enumerate(ref.tolist()):
        a = r - pre if i == 0 else max(r - pre, int(ref[i - 1]) + post)
        z = min(r + post, int(ref[i + 1]) - pre) if i + 1 < ref.size else r + post
        z = max(z, r + 1)
        beats.append(pos + r - a)
        pieces.append(x[a:z])
        pos += z - a
        if i + 1 < ref.size:
            r2 = int(ref[i + 1])
            nxt = max(r2 - pre, z)
            need = max(int(round(k * (r2 - r))), r2 - r) - (z - r) - (r2 - nxt)  # samples of line
            t = np.linspace(0.0, 1.0, need + 2)[1:-1, None]
            line = x[z - 1] + (x[nxt] - x[z - 1]) * t
            pieces.append(line + rng.normal(0.0, noise_mv, line.shape))
            pos += need
    return np.concatenate(pieces), np.asarray(beats, dtype=np.int64)


def _errors(ref: np.ndarray, det: np.ndarray, fs: float, start: int) -> tuple[int, int]:
    """(missed, false) beats from sample ``start`` on, within +-150 ms."""
    tol = int(0.15 * fs)
    ref, det = ref[ref >= start], det[det >= start]
    missed = sum(1 for r in ref.tolist() if not (np.abs(det - r) <= tol).any())
    false = sum(1 for d in det.tolist() if not (np.abs(ref - d) <= tol).any())
    return missed, false


# measured (missed + false) now, with recover_rr 0 in brackets: 106: 0 (214); 208, whose frequent
# ventricular ectopics are stretched too: 22 (198; 32 (159) before the second band, 28 (201) before
# the lead shares summed to 1, 26 (155) before detector.LEVEL_CAP); 101 and 119 (not listed): 4 (17)
# and 0 (0)
@pytest.mark.parametrize(("name", "ceiling"), [("106", 5), ("208", 35)])
def test_30_bpm_with_a_noisy_baseline(mitdb, name: str, ceiling: int) -> None:
    x, fs, ref = mitdb(name)
    cut = int(600 * fs)
    y, beats = _slow(x[:cut], ref[ref < cut - int(fs)], fs)
    start = int(10 * fs)
    missed, false = _errors(beats, detect_beats(y, fs), fs, start)
    assert missed + false <= ceiling, (missed, false)
    # the fixed 1.5-s halving (recover_rr 0): the level halved before every beat
    m0, f0 = _errors(beats, detect_beats(y, fs, DetectorConfig(recover_rr=0.0)), fs, start)
    assert m0 + f0 >= 2 * (missed + false) + 10, (m0, f0, missed, false)


def test_halving_interval_follows_the_median_rr() -> None:
    """Unit check of the rule: 1.5 s until the RR history is full, then the longer of 1.5 s and
    one median RR, through a state round trip."""
    from ecgdash.core.qrs import StreamingQRSDetector

    fs = 250.0
    det = StreamingQRSDetector(fs, 1)
    assert det.rec == 1.5 * fs
    for rr in (2.0, 2.2, 1.8, 2.0, 2.4, 2.0, 2.1):
        det._add_rr(int(rr * fs))
    assert det.rec == 1.5 * fs  # 7 intervals: not yet
    det._add_rr(int(2.0 * fs))
    assert det.rec == 2.0 * fs
    det2 = StreamingQRSDetector.from_bytes(det.to_bytes())
    assert det2.rec == det.rec
    for _ in range(8):
        det._add_rr(int(0.8 * fs))
    assert det.rec == 1.5 * fs  # 75 bpm: recover_s


def test_slow_rhythm_is_chunk_invariant(mitdb) -> None:
    x, fs, ref = mitdb("106")
    cut = int(150 * fs)
    y, _ = _slow(x[:cut], ref[ref < cut - int(fs)], fs)
    assert_chunk_invariant(y, fs)
