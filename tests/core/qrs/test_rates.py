"""The detector at high sampling rates (research and pacemaker-analysis recorders sample at 8-32 kHz).

The R peak is placed at the combined band-passed maximum moved back by the band-pass filter's group
delay near 10 Hz (``config.derive``). That delay was computed from the filter as one (b, a)
polynomial, which loses precision as the poles near the unit circle: scipy warned from about 8 kHz,
the delay was 5 samples off at 16 kHz and negative at 32 kHz, where every beat came out about 32 ms
late. It is now the sum over the filter's second-order sections (the same rounded delay below 4 kHz,
so nothing changes at the usual rates).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import signal

from ecgdash.core.qrs import DetectorConfig, detect_beats
from ecgdash.core.qrs.config import derive


@pytest.mark.parametrize("fs", [8000.0, 16000.0, 32000.0])
@pytest.mark.parametrize("lead", [0, 1])
def test_beats_at_high_rates_sit_where_they_do_at_1_khz(mitdb, fs: float, lead: int) -> None:
    """Each lead alone: with both, a beat whose two leads' band-passed peaks (some 20 ms apart)
    are about equal after weighting sits on either one, and resampling tips it (119 at 2.7 s: 2.702
    and 2.723 s alone, 2.731 s with both at 1 kHz, 2.697 s at 8 kHz), which says nothing about
    the filter."""
    x, fs0, _ = mitdb("119")
    x = np.ascontiguousarray(x[: int(60 * fs0), lead])
    base = detect_beats(signal.resample_poly(x, 1000, int(fs0)), 1000.0) / 1000.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # quiet: no numerical warning from the filter design
        got = detect_beats(signal.resample_poly(x, int(fs), int(fs0)), fs) / fs
    assert got.size == base.size
    assert np.abs(got - base).max() < 0.004, np.abs(got - base).max()  # seconds


def test_group_delay_against_the_filter_response() -> None:
    """The delay ``derive`` uses against the phase slope of the filter itself (a central difference
    of ``sosfreqz`` around 10 Hz), from 50 Hz to 32 kHz."""
    cfg = DetectorConfig()
    for fs in (50.0, 125.0, 360.0, 1000.0, 4096.0, 8000.0, 16000.0, 32000.0):
        d = derive(cfg, fs)
        h = 1e-3
        _, resp = signal.sosfreqz(d.sos, worN=[10.0 - h, 10.0 + h], fs=fs)
        slope = -np.angle(resp[1] / resp[0]) / (2 * np.pi * 2 * h / fs)
        assert abs(d.delay - slope) <= 0.51, (fs, d.delay, slope)
