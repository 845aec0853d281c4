"""Windows in which no lead is usable (every lead a gap, flat or clipped) do not blind the next one.

Lead weights for a window are set when the window before it closes, from that window's flags. A
window with no usable lead gave every lead weight 0, so the whole next second was invisible to
the detector. An adversarial probe found three inputs where that cost many beats while XQRS lost
none: lost packets (the jobs fill short message holes with NaN: a 150-ms hole every 5 s took
sensitivity from 99.5 % to 81 %), clipping at an ADC rail (1.5 beats per clipped second), and a
flat T-P baseline at 30 bpm (an ECG simulator's: a third of the beats). Such a window says nothing
about the next one, so the weights in force are kept (``quality._keep_weights``).
"""

from __future__ import annotations

import numpy as np
import pytest

from ecgdash.core.qrs import detect_beats, quality
from tests.helpers.qrs_chunks import assert_chunk_invariant


def _holes(x: np.ndarray, fs: float, every_s: float = 5.0, hole_s: float = 0.15) -> tuple[np.ndarray, list]:
    """NaN holes on every lead, one per ``every_s`` at a random phase; the spans to leave out of
    the scoring (+-150 ms around each hole)."""
    rng = np.random.default_rng(3)
    y, skip = x.copy(), []
    for t0 in np.arange(1.0, x.shape[0] / fs - 1, every_s):
        i = int((t0 + rng.uniform(0, every_s / 2)) * fs)
        y[i : i + int(hole_s * fs)] = np.nan
        skip.append((i - int(0.15 * fs), i + int((hole_s + 0.15) * fs)))
    return y, skip


def _clipped(x: np.ndarray, fs: float, every_s: float = 30.0) -> tuple[np.ndarray, list]:
    """A slow 12-mV excursion over 4 s on every lead (a patient moving, an electrode pressed)
    that drives the amplifier to its +-4 mV rail, every ``every_s``; beats within 200 ms of the
    rail left out of the scoring."""
    y, skip, m = x.copy(), [], int(4 * fs)
    for t0 in np.arange(every_s / 2, x.shape[0] / fs - 4, every_s):
        i = int(t0 * fs)
        y[i : i + m] += 12.0 * np.sin(np.pi * np.arange(m) / m)[:, None]
        railed = np.flatnonzero((np.abs(y[i : i + m]) >= 4.0).any(axis=1))
        if railed.size:
            skip.append((i + railed[0] - int(0.2 * fs), i + railed[-1] + int(0.2 * fs)))
    return np.clip(y, -4.0, 4.0), skip


def _missed(ref: np.ndarray, det: np.ndarray, fs: float, skip: list, start: int) -> int:
    keep = ref >= start
    for a, b in skip:
        keep &= (ref < a) | (ref > b)
    tol = int(0.15 * fs)
    return int(sum(1 for r in ref[keep].tolist() if not (np.abs(det - r) <= tol).any()))


@pytest.mark.parametrize("damage", [_holes, _clipped], ids=["lost-packets", "clipping"])
@pytest.mark.parametrize("name", ["101", "119"])
def test_no_usable_lead_keeps_the_weights_in_force(mitdb, monkeypatch, name: str, damage) -> None:
    x, fs, ref = mitdb(name)
    x = x[: int(600 * fs)]
    ref = ref[ref < x.shape[0]]
    y, skip = damage(x, fs)
    start = int(10 * fs)
    clean = _missed(ref, detect_beats(x, fs), fs, skip, start)
    now = _missed(ref, detect_beats(y, fs), fs, skip, start)
    monkeypatch.setattr(quality, "_keep_weights", lambda cols: cols)  # zero weights after such a window
    before = _missed(ref, detect_beats(y, fs), fs, skip, start)
    assert now <= clean + 3, (clean, now, before)
    assert before >= now + 10, (clean, now, before)


def test_kept_weights_are_chunk_invariant(mitdb) -> None:
    """The weights kept across blind windows are a recurrence over windows: the block path and
    the one-window path give the same beats, with state round trips."""
    x, fs, _ = mitdb("208")
    y, _ = _holes(x[: int(120 * fs)], fs, every_s=3.0)
    assert_chunk_invariant(y, fs)
