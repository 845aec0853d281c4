"""Real ECG with injected alarm events, for the alarm tests and ``bench/alarm_latency.py``.

Each splice returns the new signal (ADC units, (n, leads) int16), the reference beats moved with
it, and the event's onset sample as issue 11 defines it: for asystole the last beat before the
pause, for brady/tachycardia the first beat of the slow or fast stretch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import signal as sps


@dataclass(frozen=True)
class Injected:
    kind: str  # "asystole" | "tachycardia" | "bradycardia" | "signal_loss"
    how: str  # "flat", "low-amplitude", "compressed", "stretched", "producer stop"
    onset: int  # sample index of the onset in the new signal
    end: int  # sample index where the injected stretch ends


def _after(beats: np.ndarray, index: int) -> int:
    k = int(np.searchsorted(beats, index))
    if k >= beats.size - 2:
        raise ValueError(f"no reference beat after sample {index}")
    return k


def baseline_fill(n: int, fs: float, level: np.ndarray, end_level: np.ndarray, gain: float,
                  seed: int) -> np.ndarray:  # fmt: skip
    """``n`` samples (x leads) of low-amplitude baseline without any QRS: about 0.015 mV of 1-30 Hz
    noise and 0.03 mV of 0.25-Hz wander (``gain`` ADC units per mV), ramped in and out over 0.5 s
    from ``level`` to ``end_level`` (per lead), so no step makes a false QRS."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / fs
    sos = sps.butter(2, [1.0, 30.0], btype="bandpass", fs=fs, output="sos")
    noise = sps.sosfiltfilt(sos, rng.standard_normal((n, level.size)), axis=0)
    noise *= 0.015 * gain / max(noise.std(), 1e-9)
    wander = 0.03 * gain * np.sin(2 * np.pi * 0.25 * t)[:, None]
    ramp = np.minimum(1.0, np.minimum(t, t[-1] - t) / 0.5)[:, None]
    base = level + (end_level - level) * (t / t[-1])[:, None]
    return base + ramp * (noise + wander)


def splice_pause(adc: np.ndarray, beats: np.ndarray, fs: float, at: int, pause_s: float,
                 how: str = "flat", seed: int = 0, gain: float = 200.0
                 ) -> tuple[np.ndarray, np.ndarray, Injected]:
    """A pause after the first beat at or after sample ``at``: from 0.45 s after that beat (the
    T wave is over) ``pause_s`` of a flat line on every lead (``how="flat"``) or of low-amplitude
    baseline wander and noise without any QRS (``"low-amplitude"``: about 0.03 mV, ``gain`` ADC
    units per mV), then the record again from 0.25 s before its next beat."""
    k = _after(beats, at)
    last = int(beats[k])
    cut = last + int(0.45 * fs)
    resume = int(beats[k + 1]) - int(0.25 * fs)
    if resume <= cut:  # a fast rhythm: resume right at the next beat's onset
        resume = int(beats[k + 1]) - int(0.08 * fs)
    n = int(round(pause_s * fs))
    level = adc[cut].astype(np.float64)
    if how == "flat":
        fill = np.repeat(level[None, :], n, axis=0)
    elif how == "low-amplitude":
        fill = baseline_fill(n, fs, level, adc[resume].astype(np.float64), gain, seed)
    else:
        raise ValueError(f"unknown pause kind {how!r}")
    out = np.concatenate([adc[:cut], np.round(fill).astype(np.int16), adc[resume:]])
    shift = cut + n - resume
    new_beats = np.concatenate([beats[: k + 1], beats[k + 1 :] + shift])
    return out, new_beats, Injected("asystole", how, last, cut + n)


def warp_rate(adc: np.ndarray, beats: np.ndarray, fs: float, at: int, n_beats: int,
              factor: float) -> tuple[np.ndarray, np.ndarray, Injected]:
    """``n_beats`` beats from the first at or after ``at`` replayed at ``factor`` x their rate:
    each RR interval is divided by ``factor`` (> 1: time-compressed, a tachycardia; < 1:
    stretched, a bradycardia). A compression keeps the QRS complexes (+-60 ms around each R
    peak) at their own duration and shortens the rest, as a fast rhythm shortens PR and QT; a
    stretch keeps the whole P-QRS-T complex and lengthens the T-P interval, as a slow sinus
    rhythm does. The detector thus sees real QRS shapes at the new rate."""
    k0 = _after(beats, at)
    k1 = k0 + n_beats
    if k1 >= beats.size:
        raise ValueError("the record is too short for that many beats")
    src = beats[k0 : k1 + 1].astype(np.float64)
    rr_src = float(np.median(np.diff(src))) / fs
    pre, post = (0.06, 0.06) if factor > 1 else (min(0.2, 0.3 * rr_src), min(0.4, 0.55 * rr_src))
    pre, post = pre * fs, post * fs
    # output beat positions, relative to beat k0
    rr = np.diff(src) / factor
    rr = np.maximum(rr, pre + post + 1)
    pos = np.concatenate([[0.0], np.cumsum(rr)])
    # knots of a piecewise-linear map output -> source: QRS at slope 1, the rest stretched
    xo, xs = [], []
    for p, s in zip(pos, src, strict=True):
        xo += [p - pre, p + post]
        xs += [s - pre, s + post]
    xo_a, xs_a = np.array(xo[1:-1]), np.array(xs[1:-1])  # from R(k0) to R(k1)
    xo_a = np.concatenate([[0.0], xo_a, [pos[-1]]])
    xs_a = np.concatenate([[src[0]], xs_a, [src[-1]]])
    n_out = int(round(pos[-1]))
    s_of_t = np.interp(np.arange(n_out), xo_a, xs_a)
    base = np.arange(adc.shape[0])
    mid = np.column_stack([np.interp(s_of_t, base, adc[:, j]) for j in range(adc.shape[1])])
    r0, r1 = int(src[0]), int(src[-1])
    out = np.concatenate([adc[:r0], np.round(mid).astype(np.int16), adc[r1:]])
    shift = n_out - (r1 - r0)
    new_beats = np.concatenate([beats[:k0], r0 + np.round(pos[:-1]).astype(np.int64),
                                beats[k1:] + shift])
    kind = "tachycardia" if factor > 1 else "bradycardia"
    how = "compressed" if factor > 1 else "stretched"
    return out, new_beats, Injected(kind, how, r0, r0 + n_out)
