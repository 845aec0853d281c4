"""Every lead off for longer than the quiet hold, then back: no blind spell after reattachment.

A window whose slope maximum is below ``QUIET_LEVEL`` x a lead's QRS reference keeps the lead's
history as it was, for at most ``QUIET_MAX`` (15) windows in a row, so that a real drop in
amplitude is followed after that. With every lead off for longer (the last value plus a few uV
of noise), the references followed the noise down; on reattachment the first windows were weighted
for that noise, the detector's QRS level jumped a hundredfold, and it was blind for about 10 s
(adversarial probe: sensitivity 42 % over the 20 s after a 30-s spell, XQRS 98.9 %). Now the hold
has no limit while every lead is quiet and the lead's last windows lack an ECG's contrast
(``quality._featureless``: the median quarter-window slope maximum above ``SAFE_FLOOR`` x the median
window maximum: noise or a bare baseline). A smaller ECG keeps its contrast, so a real drop in
amplitude is still followed after ``QUIET_MAX`` windows; one lead off alone is left to the
lost-lead rule as before.

Not covered: a lead whose QRS is so small that the off spell's noise is not quiet against it (101's
second lead: its QRS slope is a tenth of the first's) is not "quiet", so the other lead's hold ends
as before and 101 still misses about 11 beats per reattachment (44 of 106 here). Counting a
featureless lead as quiet fixes 101 but holds a lost lead beside such a lead for good, and the
lost-lead bench's 60-s spells then miss 460 beats instead of 272 (README).
"""

from __future__ import annotations

import numpy as np
import pytest

from ecgdash.core.qrs import detect_beats, quality
from tests.helpers.qrs_chunks import assert_chunk_invariant

OFF_S = 30.0


def _all_off(x: np.ndarray, fs: float, every_s: float = 120.0) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Every lead at its last value plus 5 uV of white noise for ``OFF_S``, every ``every_s`` from
    60 s on; returns the signal and the 20 s after each reattachment (from 0.2 s after it)."""
    rng = np.random.default_rng(5)
    y, after, m = x.copy(), [], int(OFF_S * fs)
    for t0 in np.arange(60.0, x.shape[0] / fs - OFF_S - 25.0, every_s):
        i = int(t0 * fs)
        y[i : i + m] = y[i - 1] + rng.normal(0.0, 0.005, (m, x.shape[1]))
        after.append((i + m + int(0.2 * fs), i + m + int(20 * fs)))
    return y, after


def _missed(ref: np.ndarray, det: np.ndarray, fs: float, spans: list[tuple[int, int]]) -> tuple[int, int]:
    tol = int(0.15 * fs)
    n = missed = 0
    for a, b in spans:
        for r in ref[(ref >= a) & (ref < b)].tolist():
            n += 1
            missed += not (np.abs(det - r) <= tol).any()
    return missed, n


@pytest.mark.parametrize("name", ["106", "119", "208"])
def test_no_blind_spell_after_every_lead_was_off(mitdb, monkeypatch, name: str) -> None:
    x, fs, ref = mitdb(name)
    x = x[: int(600 * fs)]
    y, after = _all_off(x, fs)
    missed, n = _missed(ref, detect_beats(y, fs), fs, after)
    assert missed <= 0.03 * n, (missed, n)
    monkeypatch.setattr(quality, "_featureless", lambda subs: np.zeros(subs.shape[:-1], dtype=bool))
    before, _ = _missed(ref, detect_beats(y, fs), fs, after)  # the hold ends after QUIET_MAX
    assert before >= missed + 0.2 * n, (before, missed, n)


def test_a_real_drop_in_amplitude_is_still_followed(mitdb) -> None:
    """Every lead at a tenth of its amplitude from 60 s on: quiet against the old reference, but
    with an ECG's contrast, so the hold ends after QUIET_MAX windows and the beats are found."""
    x, fs, ref = mitdb("119")
    x = x[: int(300 * fs)].copy()
    x[int(60 * fs) :] *= 0.1
    det = detect_beats(x, fs)
    missed, n = _missed(ref, det, fs, [(int(60 * fs + (quality.QUIET_MAX + 15) * fs), x.shape[0] - int(fs))])
    assert n > 100 and missed <= 0.01 * n, (missed, n)


def test_reattachment_is_chunk_invariant(mitdb) -> None:
    x, fs, _ = mitdb("208")
    y, _ = _all_off(x[: int(150 * fs)], fs, every_s=70.0)
    assert_chunk_invariant(y, fs)
