"""Signal-quality index per fixed window (1 s by default), per lead.

Windows are aligned to the absolute sample index (window j covers samples
``[j*W, (j+1)*W)``), and every statistic is exact (counts, minima, maxima, medians), so the
result does not depend on how the stream was chunked.

Per lead and window the flags are:

* ``GAP``: more than 10 % of the samples were NaN/inf (they are held at the last valid value).
* ``FLAT``: no signal: the lead is constant, or its steepest slope is below 1 % of the lead's
  typical QRS slope (leads off, flat line).
* ``SATURATED``: at least 10 % of the samples sit exactly on the window's minimum or maximum
  (clipping at the ADC rail).
* ``NOISY``: slope above 22 % of the typical QRS slope (5 % in energy) for more than 30 % of the
  window (a clean ECG spends ~5-15 % there), or a slope 5.5x the typical QRS (artifact burst).

"Typical QRS slope" (``ref``) is the median of the lead's last 8 window maxima of the absolute
first difference of the band-passed signal; it is scale-free, so ADC units and mV give the same
flags. The same maxima are also kept per quarter window: their median over the 8 windows,
relative to ``ref``, is the lead's between-beat floor used to weight the leads.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntFlag

import numpy as np
from numpy.typing import NDArray

HISTORY = 8
GAP_FRACTION = 0.10
FLAT_SLOPE = 1e-2
SATURATED_FRACTION = 0.10
NOISE_LEVEL = 0.2236  # sqrt(0.05): 5 % of the QRS slope energy
NOISE_FRACTION = 0.30
ARTIFACT_RATIO = 5.5  # ~sqrt(30)
SUBWINDOWS = 4  # a window's slope maxima are also kept per quarter (0.25 s at the default 1 s)
SAFE_FLOOR = 0.35  # a lead whose between-beat floor is at most this is "safe" (see _next_weights)
# the long-term floor (see _next_weights) follows a lead's floor up by at most FLOOR_RISE per window
# (0.03 per minute at 1-s windows: from a clean 0.15 to STRUCTURAL_FLOOR takes 15 minutes) and down
# by at most FLOOR_FALL (a clean spell of a minute or more brings it down; a few low windows do not)
FLOOR_RISE = 0.0005
FLOOR_FALL = 0.005
INF = float("inf")
STRUCTURAL_FLOOR = 0.6  # a lead whose long-term floor is this high carries tall non-QRS waves
STRUCTURAL_POWER = 3  # ... and is scaled down by (calmer floor / its floor) ** this (_next_weights)
STRUCTURAL_RATIO = 0.7  # ... also beside a lead whose long-term floor is at most this x its own
# busy-ness (the fraction of a window above NOISE_LEVEL) at or below this says nothing about noise:
# a clean ECG spends 5-15 % there, and a lead with a tiny QRS count (a slow rhythm, a pause, a lost
# signal) near 0 %; see _next_weights
BUSY_FLOOR = 0.06
# a window whose slope maximum is below QUIET_LEVEL x ref holds no QRS (a pause, asystole, a
# lead's signal loss): it says nothing about the QRS size and keeps the last history entry, for
# at most QUIET_MAX windows in a row (then a real drop in amplitude is followed), or for as long as
# every lead is quiet and the lead's last windows lack an ECG's contrast (_featureless: all off)
QUIET_LEVEL = 0.2
QUIET_MAX = 15
# a lead quiet for LOST_WINDOWS windows in a row while another clean lead showed a QRS (a window
# maximum of at least SHOW_LEVEL x its ref) within the last LOST_WINDOWS windows has lost its
# signal: it leaves the weights (see _next_weights)
LOST_WINDOWS = 3
SHOW_LEVEL = 0.5
DARK_MAX = 1000.0  # windows without a QRS-level maximum are counted up to this (bounded state)
# every lead in use (see _pause) quiet for PAUSE_WINDOWS windows in a row: a pause (the detector's
# QRS level then stops halving at DetectorConfig.pause_floor)
PAUSE_WINDOWS = 2


class LeadFlag(IntFlag):
    """Quality problems of one lead in one window (0 = clean)."""

    GAP = 1
    FLAT = 2
    SATURATED = 4
    NOISY = 8


UNUSABLE = LeadFlag.GAP | LeadFlag.FLAT | LeadFlag.SATURATED


@dataclass(frozen=True, slots=True)
class QualityWindow:
    """Quality of one window.

    ``start`` and ``length`` are in samples (absolute index from the first sample pushed);
    ``flags`` holds one :class:`LeadFlag` value per lead; ``quality`` is in [0, 1]:
    1 = at least one clean lead, 0.3 = only noisy leads, 0 = no usable lead. ``floor`` is the
    lowest between-beat floor of the usable leads with the window in their history (the level of
    a lead's largest non-QRS waves or noise relative to its QRS slope; a clean lead sits at
    0.05-0.15, noise on every lead lifts it above ``SAFE_FLOOR``); 1 when no lead is usable.
    """

    start: int
    length: int
    flags: tuple[int, ...]
    quality: float
    floor: float = 1.0  # lowest between-beat floor of the usable leads after this window

    @property
    def usable(self) -> bool:
        """True when heart rate from this window can be trusted."""
        return self.quality >= 0.5


_GAP, _FLAT, _SAT, _NOISY = 1, 2, 4, 8
_UNUSABLE = _GAP | _FLAT | _SAT


def _flags(
    n: int,
    nnan: NDArray[np.int64],
    vmin: NDArray[np.float64],
    vmax: NDArray[np.float64],
    cext: NDArray[np.int64],
    emax: NDArray[np.float64],
    chi: NDArray[np.int64],
    ref: NDArray[np.float64],
) -> NDArray[np.int64]:
    """Lead flags from window statistics (any shape, element-wise)."""
    has_ref = ref > 0
    flat = (vmax <= vmin) | (has_ref & (emax < FLAT_SLOPE * ref))
    sat = ~flat & (cext >= SATURATED_FRACTION * n)
    noisy = has_ref & ((chi > NOISE_FRACTION * n) | (emax > ARTIFACT_RATIO * ref))
    return (
        np.where(nnan > GAP_FRACTION * n, _GAP, 0)
        | np.where(flat, _FLAT, 0)
        | np.where(sat, _SAT, 0)
        | np.where(noisy, _NOISY, 0)
    )


def _scores(flags: NDArray[np.int64]) -> NDArray[np.float64]:
    """Window score from lead flags (leads on axis 0)."""
    clean = (flags == 0).any(axis=0)
    usable = ((flags & _UNUSABLE) == 0).any(axis=0)
    return np.where(clean, 1.0, np.where(usable, 0.3, 0.0))


def _lowest_floor(
    flags: NDArray[np.int64], ref: NDArray[np.float64], floor: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Lowest between-beat floor among the usable leads with a known QRS size (leads on axis 0);
    1 when there is none."""
    ok = ((flags & _UNUSABLE) == 0) & (ref > 0)
    return np.where(ok, floor, np.inf).min(axis=0).clip(max=1.0)


def _pause(quiet: NDArray[np.float64], wts: NDArray[np.float64]) -> NDArray[np.float64]:
    """1.0 where a window is in a pause, else 0.0 (leads on axis 0): every lead in use (non-zero
    weight) quiet for ``PAUSE_WINDOWS`` windows in a row before it; every lead when none is in use.
    A lead left out of the weights (off, flat, noisy while another lead is clean, or lost) cannot
    veto it: with one electrode off, a pause on the other lead is still a pause."""
    use = wts > 0
    q = np.where(use.any(axis=0), np.where(use, quiet, np.inf).min(axis=0), quiet.min(axis=0))
    return (q >= PAUSE_WINDOWS).astype(np.float64)


def _keep_weights(cols: NDArray[np.float64]) -> NDArray[np.float64]:
    """Successive windows' weights (leads x windows, the first already in force) where a window
    after which no lead was usable (every lead a gap, flat or clipped: all weights 0) keeps the
    weights in force instead. Such a window says nothing about the next one, and zero weights
    blinded the whole next second: a 150-ms hole of lost packets every 5 s cost a fifth of the
    beats, a clipped second 1.5 beats, a flat T-P baseline at 30 bpm a third (adversarial probe)."""
    blind = ~(cols > 0).any(axis=0)
    if not blind[1:].any():
        return cols
    blind[0] = False
    idx = np.maximum.accumulate(np.where(blind, 0, np.arange(cols.shape[1])))
    return cols[:, idx]


def _mask(wts: NDArray[np.float64]) -> NDArray[np.float64]:
    """Bit mask of the leads with non-zero weight (leads on axis 0), as float."""
    bits = (1 << np.arange(wts.shape[0])).astype(np.float64)
    return bits @ (wts > 0)


def _next_weights(
    flags: NDArray[np.int64],
    ref: NDArray[np.float64],
    busy: NDArray[np.float64],
    floor: NDArray[np.float64],
    lfloor: NDArray[np.float64],
    quiet: NDArray[np.float64],
    dark: NDArray[np.float64],
) -> NDArray[np.float64]:
    """Lead weights (amplitude units) for the next window.

    Clean leads (else usable ones), scaled to unit typical QRS slope, and down-weighted by how
    much more of the time they are "busy" (slope above 22 % of the QRS level, smoothed over 8
    windows) than the cleanest lead: ``(busy_min / busy) ** 2``, busy-ness taken as at least
    ``BUSY_FLOOR``. A lead whose QRS barely rises above its noise thus adds little.

    The shares then sum to 1, so the fused QRS level is the same whichever leads are in use. It
    used to be their sum, which rose and fell with the pick of clean leads: when noise flagged a
    lead for a window, the level dropped below the learnt thresholds and beats were missed, and
    when it came back, noise passed. Below ``BUSY_FLOOR`` the ratio compared two counts of almost
    nothing (at 30 bpm one lead at 1 % took 90 % of the weight from a lead at 4 %, and its
    baseline noise became beats), so busy-ness is floored there: a lead that has lost its signal
    is no longer near 0 % against the lead still carrying the beats either. The floor was screened
    at 0.03-0.08; 0.06 is the lowest at which neither the pause nor the lead-loss bench has more
    false beats than before, and above it more false beats on NSTDB +12 dB and the tall-P/T second
    lead (README).

    Then, when some lead is safe (its between-beat ``floor``, the median quarter-window slope
    maximum relative to its QRS slope, is at most ``SAFE_FLOOR``, about the detector's threshold
    fraction), every lead with a higher floor is scaled by ``SAFE_FLOOR / floor``: its P/T waves or
    noise spikes rise close to its QRS and would pass for beats. Busy-ness alone misses such a lead
    (tall P/T waves are not busy). The shares still sum to 1 (above). When no lead is safe (noise
    on every lead) the weights stay as busy-ness sets them: down-weighting one noisy lead then
    costs more beats than it saves false ones (NSTDB -6 dB).

    Noise is transient, tall P or T waves are not: ``lfloor`` is each lead's long-term floor, its
    floor followed at a limited rate (up by ``FLOOR_RISE``, down by ``FLOOR_FALL`` per window). A
    lead whose long-term floor is at least ``STRUCTURAL_FLOOR`` while another lead's is safe
    carries such waves, and is scaled by ``(SAFE_FLOOR / lfloor) ** STRUCTURAL_POWER`` even while
    noise lifts the safe lead's current floor (which turns the rule above off, and let a tall-P/T
    lead count its waves as beats). Cubed, because at a long-term floor of 0.68 the plain ratio
    left such a lead half its share, and during a noise burst on the other lead its T waves passed
    the threshold. Nor does such a lead, while clean, push out a usable lead whose long-term floor
    is safe and that is not quiet (the clean-over-noisy pick): during a noise burst on the other
    lead it was otherwise the only lead in use, and every one of its P and T waves a beat (both
    rules, on 101 with a tall-P/T first lead: 100 missed and 826 false beats -> 76 and 759). The
    scaling also applies beside a lead that is not safe but clearly calmer, its long-term floor at
    most ``STRUCTURAL_RATIO`` x the tall-wave lead's, as ``(that floor / lfloor) ** 3``: the
    tall-P/T copies of 203 and 209 sit beside a real lead whose long-term floor has a median of
    0.40 and 0.36 (safe in only 20 and 33 % of the windows) against the surrogate's 0.67 and 0.72;
    such a lead also counts as calm for the pick above.
    Noise bursts of minutes barely lift a clean lead's long-term floor, so under noise on every
    lead nothing changes.

    Signal lost on one lead: a lead ``quiet`` for ``LOST_WINDOWS`` windows in a row (slope maximum
    below ``QUIET_LEVEL`` x its QRS slope) is left out while another lead is live: clean in the
    last window, a window maximum of at least ``SHOW_LEVEL`` x its QRS slope within the last
    ``LOST_WINDOWS`` windows (``dark``: windows in a row without one) and no tall non-QRS waves
    (long-term floor below ``STRUCTURAL_FLOOR``). Without it the lost lead, never busy and with its
    QRS reference held, became the busy-ness rule's reference and scaled the lead still carrying
    the beats down to nearly nothing (``bench/qrs_leadloss.py``: 2226 of 4922 beats missed in 156
    spells of 20 s; MIT-BIH 116's lead-1 signal loss: 5). In a pause every lead is quiet and none is
    live, so nothing changes. Three windows, because at slow rates a 1-s window often holds no
    QRS, and a sinus pause of 2 s is not a lost lead (with two, 201's pauses let its tall-P/T
    copy's second lead take over, and it placed a beat on its T wave); clean, because a lead whose
    QRS is tiny shows a pause's baseline noise at its QRS level (101's second lead: false beats in
    spliced pauses); not structural, because a lead carrying tall P waves shows them at its QRS
    level through a ventricular standstill (a guard, not measured: the dev set has no such case).
    """
    clean = flags == 0
    usable = (flags & _UNUSABLE) == 0
    lost = quiet >= LOST_WINDOWS
    if lost.any():  # rare: skip on most windows
        live = clean & (dark < LOST_WINDOWS) & (lfloor < STRUCTURAL_FLOOR) & (ref > 0)
        out = lost & live.any(axis=0)
        clean, usable = clean & ~out, usable & ~out
    tall = lfloor >= STRUCTURAL_FLOOR
    if tall.any():  # rare: a clean lead with tall non-QRS waves does not push out a calm one
        top = np.where(tall & np.isfinite(lfloor), lfloor, 0.0).max(axis=0)
        calmer = lfloor <= np.maximum(SAFE_FLOOR, STRUCTURAL_RATIO * top)
        calm = usable & calmer & (quiet < LOST_WINDOWS) & (ref > 0)
        clean = clean & ~(tall & calm.any(axis=0))
    pick = np.where(clean.any(axis=0), clean, usable)
    ok = pick & (ref > 0)
    busy = np.maximum(busy, BUSY_FLOOR)
    best = np.where(ok, busy, np.inf).min(axis=0)
    rel = np.where(ok, best / busy, 0.0) ** 2
    floor = np.maximum(floor, 0.01)
    low = np.where(ok, floor, np.inf).min(axis=0)
    fac = np.where(ok & (low <= SAFE_FLOOR), np.minimum(SAFE_FLOOR / floor, 1.0), 1.0)
    high = ok & tall
    if high.any():  # rare: skip the rest on most windows
        lowlt = np.where(ok, lfloor, np.inf).min(axis=0)
        fin = np.isfinite(lfloor)
        rel_low = fin & (lowlt <= STRUCTURAL_RATIO * np.where(fin, lfloor, 0.0))
        structural = high & ((lowlt <= SAFE_FLOOR) | rel_low)
        calmest = np.maximum(np.where(np.isfinite(lowlt), lowlt, 1.0), SAFE_FLOOR)
        down = (calmest / np.maximum(lfloor, 0.01)) ** STRUCTURAL_POWER
        fac = np.minimum(fac, np.where(structural, down, 1.0))
    rel = rel * fac
    tot = rel.sum(axis=0)
    rel = rel / np.where(tot > 0, tot, 1.0)
    return np.where(ok, rel / np.where(ok, ref, 1.0), 0.0)


class WindowQuality:
    """Streaming accumulator producing :class:`QualityWindow` s and per-window lead weights."""

    FIELDS = (
        "q_win", "q_n", "q_nnan", "q_vmin", "q_vmax", "q_cmin", "q_cmax", "q_emax",
        "q_chi", "q_hist", "q_busy", "q_nhist", "q_weight", "q_cummax", "q_sub", "q_subcur", "q_lfm",
        "q_quiet", "q_dark",
    )  # fmt: skip

    def __init__(self, window: int, n_leads: int) -> None:
        self.window = window
        self.n_leads = n_leads
        self.q_win = 0  # index of the window being filled
        self.q_n = 0  # samples in it so far
        z = np.zeros(n_leads)
        self.q_nnan = np.zeros(n_leads, dtype=np.int64)
        self.q_vmin, self.q_vmax = z + np.inf, z - np.inf
        self.q_cmin = np.zeros(n_leads, dtype=np.int64)
        self.q_cmax = np.zeros(n_leads, dtype=np.int64)
        self.q_emax = z.copy()
        self.q_chi = np.zeros(n_leads, dtype=np.int64)
        self.q_hist = np.zeros((n_leads, HISTORY))  # last window maxima of slope energy
        self.q_busy = np.zeros((n_leads, HISTORY))  # last windows' busy fractions
        self.q_nhist = 0
        self.q_weight = np.zeros(n_leads)  # lead weights for the current window
        self.q_cummax = z.copy()  # running max of energy during window 0
        self.q_sub = np.zeros((n_leads, HISTORY * SUBWINDOWS))  # last windows' sub-window maxima
        self.q_subcur = np.zeros((n_leads, SUBWINDOWS))  # sub-window maxima of the current window
        self.q_lfm = np.full(n_leads, np.inf)  # long-term floor per lead (inf: none seen yet)
        self.q_quiet = np.zeros(n_leads)  # quiet windows in a row kept out of q_hist, per lead
        self.q_dark = np.zeros(n_leads)  # windows in a row without a QRS-level maximum, per lead
        # first sample of each sub-window, relative to the window start
        self._sub_start = np.array([-(-i * window // SUBWINDOWS) for i in range(SUBWINDOWS)])

    # -- state ---------------------------------------------------------------------------
    def state(self) -> dict[str, object]:
        return {f: getattr(self, f) for f in self.FIELDS}

    def load(self, st: dict[str, NDArray[np.generic]]) -> None:
        for f in self.FIELDS:
            v = st[f]
            setattr(self, f, v.item() if v.ndim == 0 else v)
        self.q_win, self.q_n, self.q_nhist = int(self.q_win), int(self.q_n), int(self.q_nhist)

    # -- helpers -------------------------------------------------------------------------
    def _ref(self) -> NDArray[np.float64]:
        if self.q_nhist == 0:
            return np.full(self.n_leads, np.nan)
        return _median_last(self.q_hist[:, HISTORY - min(self.q_nhist, HISTORY) :])

    def _push_history(
        self,
        emax: NDArray[np.float64],
        busy: NDArray[np.float64],
        sub: NDArray[np.float64],
        const: NDArray[np.bool_],
    ) -> NDArray[np.float64]:
        # a constant window says nothing about QRS size: repeat the last value instead; nor does
        # a quiet one (QUIET_LEVEL), once the history is full: without it the median fell 25x
        # 4-5 s into a pause, the weights rose with it and the baseline's noise became beats. The
        # hold ends after QUIET_MAX windows (a real drop in amplitude is followed), except while
        # every lead is quiet and the lead's last windows are featureless (every electrode off:
        # followed, the references sank to the noise and reattachment was ~10 s blind)
        last = self.q_hist[:, -1] if self.q_nhist else np.zeros(self.n_leads)
        keep = np.where(const, last, emax)
        if self.q_nhist >= HISTORY:
            dark = emax < SHOW_LEVEL * self._ref()
            self.q_dark = np.where(dark, np.minimum(self.q_dark + 1, DARK_MAX), 0.0)
            low = ~const & (emax < QUIET_LEVEL * self._ref())
            if low.any():  # the hold is weighed only for a quiet window (rare)
                cur = np.where(const[:, None], self.q_sub[:, -SUBWINDOWS:], sub)  # as pushed below
                subs = np.concatenate([self.q_sub[:, SUBWINDOWS:], cur], axis=1)
                everyone = (low | const).all()
                hold = (self.q_quiet < QUIET_MAX) | (everyone & _featureless(subs))
                keep = np.where(low & hold, last, keep)
            more = np.minimum(self.q_quiet + 1, QUIET_MAX)
            self.q_quiet = np.where(low, more, np.where(const, self.q_quiet, 0.0))
        self.q_hist = np.concatenate([self.q_hist[:, 1:], keep[:, None]], axis=1)
        lastb = self.q_busy[:, -1] if self.q_nhist else np.zeros(self.n_leads)
        keepb = np.where(const, lastb, busy)
        self.q_busy = np.concatenate([self.q_busy[:, 1:], keepb[:, None]], axis=1)
        lasts = self.q_sub[:, -SUBWINDOWS:] if self.q_nhist else np.zeros((self.n_leads, SUBWINDOWS))
        keeps = np.where(const[:, None], lasts, sub)
        self.q_sub = np.concatenate([self.q_sub[:, SUBWINDOWS:], keeps], axis=1)
        self.q_nhist += 1
        return self.q_quiet.copy()

    def _floor(self) -> NDArray[np.float64]:
        """Between-beat floor per lead: the median quarter-window slope maximum over the history,
        relative to ``ref`` (1 when unknown). A QRS fills at most about half of the quarters, so the
        median is the level of the largest non-QRS waves or noise; a clean lead sits at 0.05-0.15."""
        if self.q_nhist == 0:
            return np.ones(self.n_leads)
        med = _median_last(self.q_sub[:, (HISTORY - min(self.q_nhist, HISTORY)) * SUBWINDOWS :])
        ref = self._ref()
        return np.where(ref > 0, med / np.where(ref > 0, ref, 1.0), 1.0)

    def _busy(self) -> NDArray[np.float64]:
        if self.q_nhist == 0:
            return np.ones(self.n_leads)
        return _median_last(self.q_busy[:, HISTORY - min(self.q_nhist, HISTORY) :])

    def _close(self, start: int) -> QualityWindow:
        n = self.q_n
        flags = _flags(
            n, self.q_nnan, self.q_vmin, self.q_vmax, self.q_cmin + self.q_cmax, self.q_emax,
            self.q_chi, self._ref(),
        )  # fmt: skip
        quiet = self.q_quiet  # quiet windows in a row, after this one
        if n == self.window:
            quiet = self._push_history(
                self.q_emax, self.q_chi / n, self.q_subcur, self.q_vmax <= self.q_vmin
            )
        dark = self.q_dark.copy()
        ref, floor = self._ref(), self._floor()  # with this window in the history
        low = _lowest_floor(flags, ref, floor)
        win = QualityWindow(start, n, tuple(flags.tolist()), float(_scores(flags[:, None])[0]), low)
        # the long-term floor follows usable windows once the lead's history is full
        seen = ((flags & _UNUSABLE) == 0) & (self.q_nhist >= HISTORY)
        self.q_lfm = _follow(self.q_lfm, floor[:, None], seen[:, None])[:, 0]
        new = _next_weights(flags, ref, self._busy(), floor, self.q_lfm, quiet, dark)
        self.q_weight = _keep_weights(np.stack([self.q_weight, new], axis=1))[:, 1]
        self.q_win += 1
        self.q_n = 0
        self.q_nnan[:] = 0
        self.q_vmin[:], self.q_vmax[:] = np.inf, -np.inf
        self.q_cmin[:], self.q_cmax[:] = 0, 0
        self.q_emax[:] = 0.0
        self.q_chi[:] = 0
        self.q_subcur[:] = 0.0
        return win

    def _full_windows(
        self,
        start: int,
        x: NDArray[np.float64],
        nan: NDArray[np.bool_],
        e: NDArray[np.float64],
        weights: NDArray[np.float64],
        mask: NDArray[np.float64],
        pause: NDArray[np.float64],
    ) -> list[QualityWindow]:
        """Vectorised path for k >= 1 whole windows once the history is full."""
        L, w = self.n_leads, self.window
        k = x.shape[1] // w
        X, E = x.reshape(L, k, w), e.reshape(L, k, w)
        nnan = nan.reshape(L, k, w).sum(axis=2)
        vmin, vmax = X.min(axis=2), X.max(axis=2)
        cext = (vmin[:, :, None] == X).sum(axis=2) + (vmax[:, :, None] == X).sum(axis=2)
        sub = np.maximum.reduceat(E, self._sub_start, axis=2)  # (L, k, SUBWINDOWS)
        emax = sub.max(axis=2)
        # history entries, sequentially: constant windows repeat the previous entry
        seq = np.concatenate([self.q_hist, emax], axis=1)
        const = vmax <= vmin
        if const.any():
            for j in np.flatnonzero(const.any(axis=0)):
                col = HISTORY + j
                seq[:, col] = np.where(const[:, j], seq[:, col - 1], seq[:, col])
        win_view = np.lib.stride_tricks.sliding_window_view(seq, HISTORY, axis=1)
        refs = _median_last(win_view)  # (L, k+1): ref before window j is refs[:, j]
        S = SUBWINDOWS
        sseq = np.concatenate([self.q_sub, sub.reshape(L, k * S)], axis=1)
        if const.any():
            for j in np.flatnonzero(const.any(axis=0)):
                col = (HISTORY + j) * S
                prev, cur = sseq[:, col - S : col], sseq[:, col : col + S]
                sseq[:, col : col + S] = np.where(const[:, j, None], prev, cur)
        sview = np.lib.stride_tricks.sliding_window_view(sseq, HISTORY * S, axis=1)[:, ::S]
        # quiet windows (see _push_history): if none is quiet against these refs, none is held
        # and the refs stand; else the hold is a recurrence through the median, stepped per window
        if (~const & (emax < QUIET_LEVEL * refs[:, :k])).any():
            seq, quiet = _quiet_hold(seq, emax, const, self.q_quiet, _featureless(sview[:, 1:]))
            win_view = np.lib.stride_tricks.sliding_window_view(seq, HISTORY, axis=1)
            refs = _median_last(win_view)
        else:  # quiet windows in a row after each window: carried through constant ones only
            quiet = np.where(np.logical_and.accumulate(const, axis=1), self.q_quiet[:, None], 0.0)
        # a pause in window j: every lead in use quiet for PAUSE_WINDOWS windows after window j - 1
        before = np.concatenate([self.q_quiet[:, None], quiet[:, :-1]], axis=1)
        self.q_quiet = quiet[:, -1].copy()
        ref = refs[:, :k]
        dark = _runs(emax < SHOW_LEVEL * ref, self.q_dark)
        self.q_dark = dark[:, -1].copy()
        # samples above the noise level; none while the lead has no QRS size yet (a history of
        # constant windows only): what _accumulate counts one window at a time
        chi = np.where(ref > 0, (NOISE_LEVEL * ref[:, :, None] < E).sum(axis=2), 0)
        bseq = np.concatenate([self.q_busy, chi / w], axis=1)
        if const.any():
            for j in np.flatnonzero(const.any(axis=0)):
                col = HISTORY + j
                bseq[:, col] = np.where(const[:, j], bseq[:, col - 1], bseq[:, col])
        bview = np.lib.stride_tricks.sliding_window_view(bseq, HISTORY, axis=1)
        busy = _median_last(bview)
        floors = _median_last(sview)  # (L, k+1), like refs
        floors = np.where(refs > 0, floors / np.where(refs > 0, refs, 1.0), 1.0)
        flags = _flags(w, nnan, vmin, vmax, cext, emax, chi, ref)
        scores = _scores(flags)
        lfl = _follow(self.q_lfm, floors[:, 1:], (flags & _UNUSABLE) == 0)  # after each window
        self.q_lfm = lfl[:, -1].copy()
        cols = np.empty((L, k + 1))  # weights of the k windows, then of the next one
        cols[:, 0] = self.q_weight
        cols[:, 1:] = _next_weights(flags, refs[:, 1:], busy[:, 1:], floors[:, 1:], lfl, quiet, dark)
        cols = _keep_weights(cols)
        wts = cols[:, :k]
        weights[:] = np.repeat(wts, w, axis=1)
        mask[:] = np.repeat(_mask(wts), w)
        pause[:] = np.repeat(_pause(before, wts), w)
        self.q_weight = cols[:, k].copy()
        self.q_hist = seq[:, -HISTORY:].copy()
        self.q_busy = bseq[:, -HISTORY:].copy()
        self.q_sub = sseq[:, -HISTORY * S :].copy()
        self.q_nhist += k
        self.q_win += k
        ft = flags.T.tolist()
        sc = scores.tolist()
        lows = _lowest_floor(flags, refs[:, 1:], floors[:, 1:]).tolist()
        return [QualityWindow(start + j * w, w, tuple(ft[j]), sc[j], lows[j]) for j in range(k)]

    def _accumulate(self, x: NDArray[np.float64], nan: NDArray[np.bool_], e: NDArray[np.float64]) -> None:
        """Add samples (shape (L, m)) that all fall in the current window."""
        m = x.shape[1]
        w, S = self.window, SUBWINDOWS
        first, last = self.q_n * S // w, (self.q_n + m - 1) * S // w  # sub-windows touched
        if first == last:
            self.q_subcur[:, first] = np.maximum(self.q_subcur[:, first], e.max(axis=1))
        else:
            cuts = np.maximum(self._sub_start[first : last + 1] - self.q_n, 0)
            self.q_subcur[:, first : last + 1] = np.maximum(
                self.q_subcur[:, first : last + 1], np.maximum.reduceat(e, cuts, axis=1)
            )
        self.q_n += m
        self.q_nnan += nan.sum(axis=1)
        lo, hi = x.min(axis=1), x.max(axis=1)
        clo = (x == lo[:, None]).sum(axis=1)
        chi = (x == hi[:, None]).sum(axis=1)
        self.q_cmin = np.where(lo < self.q_vmin, clo, self.q_cmin + np.where(lo == self.q_vmin, clo, 0))
        self.q_cmax = np.where(hi > self.q_vmax, chi, self.q_cmax + np.where(hi == self.q_vmax, chi, 0))
        self.q_vmin = np.minimum(self.q_vmin, lo)
        self.q_vmax = np.maximum(self.q_vmax, hi)
        self.q_emax = np.maximum(self.q_emax, e.max(axis=1))
        ref = self._ref()
        if np.all(ref > 0):
            self.q_chi += (e > NOISE_LEVEL * ref[:, None]).sum(axis=1)
        else:
            self.q_chi += np.where(ref > 0, (e > NOISE_LEVEL * np.nan_to_num(ref)[:, None]).sum(axis=1), 0)

    def _weights_window0(self, e: NDArray[np.float64]) -> NDArray[np.float64]:
        """Per-sample weights for window 0, before any history: 1 / running max energy, shared
        out among the leads with a signal (the shares sum to 1, as in ``_next_weights``)."""
        cm = np.maximum.accumulate(np.concatenate([self.q_cummax[:, None], e], axis=1), axis=1)[:, 1:]
        self.q_cummax = cm[:, -1].copy()
        live = (cm > 0).sum(axis=0)
        return np.where(cm > 0, 1.0 / np.where(cm > 0, cm * live, 1.0), 0.0)

    # -- main entry ----------------------------------------------------------------------
    def update(
        self, start: int, x: NDArray[np.float64], nan: NDArray[np.bool_], e: NDArray[np.float64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], list[QualityWindow]]:
        """Consume a chunk (leads x samples) starting at absolute sample ``start``.

        ``e`` is the absolute slope of the band-passed signal. Returns the per-sample lead
        weights for the combined detection feature (shape like ``e``), the per-sample bit mask
        of the leads in use, per sample 1 where every lead in use had been quiet for
        ``PAUSE_WINDOWS`` windows when its window began (else 0; see ``_pause``), and the windows
        completed in this chunk. Whole windows are processed vectorised; one Python step per
        partial window.
        """
        w = self.window
        n = x.shape[1]
        weights = np.empty_like(e)
        mask = np.empty(n)
        pause = np.empty(n)
        done: list[QualityWindow] = []
        pos = 0
        while pos < n:
            k = (n - pos) // w
            if self.q_n == 0 and self.q_nhist >= HISTORY and k > 0:
                sl = slice(pos, pos + k * w)
                done.extend(self._full_windows(start + pos, x[:, sl], nan[:, sl], e[:, sl],
                                               weights[:, sl], mask[sl], pause[sl]))  # fmt: skip
                pos += k * w
                continue
            take = min(w - self.q_n, n - pos)
            sl = slice(pos, pos + take)
            if self.q_win == 0:
                weights[:, sl] = self._weights_window0(e[:, sl])
                mask[sl] = _mask(weights[:, sl])
            else:
                weights[:, sl] = self.q_weight[:, None]
                mask[sl] = _mask(self.q_weight[:, None])[0]
            pause[sl] = _pause(self.q_quiet[:, None], self.q_weight[:, None])[0]
            self._accumulate(x[:, sl], nan[:, sl], e[:, sl])
            pos += take
            if self.q_n == w:
                done.append(self._close(start + pos - w))
        return weights, mask, pause, done

    def finish(self, end: int) -> list[QualityWindow]:
        """Close the last, partial window at end of stream."""
        if self.q_n == 0:
            return []
        return [self._close(end - self.q_n)]


def _follow(
    prev: NDArray[np.float64], floor: NDArray[np.float64], seen: NDArray[np.bool_]
) -> NDArray[np.float64]:
    """The long-term floor after each of k windows (``floor`` and ``seen``: leads x k), starting
    from ``prev`` (per lead): each window moves it towards that window's floor by at most
    ``FLOOR_RISE`` up or ``FLOOR_FALL`` down; the first value seen starts it; a window not
    ``seen`` leaves it. A sequential recurrence, stepped in Python floats (a few leads, k <= 64
    windows: cheaper than numpy calls per window); the same IEEE operations whatever k is, so
    one window at a time gives the same values as a block."""
    out = np.empty(floor.shape)
    fl, ok = floor.tolist(), seen.tolist()
    for i, cur in enumerate(prev.tolist()):
        row, oks = fl[i], ok[i]
        for j in range(len(row)):
            if oks[j]:
                f = row[j]
                cur = f if cur == INF else min(max(f, cur - FLOOR_FALL), cur + FLOOR_RISE)
            row[j] = cur
        out[i] = row
    return out


def _quiet_hold(
    seq: NDArray[np.float64],
    emax: NDArray[np.float64],
    const: NDArray[np.bool_],
    count: NDArray[np.float64],
    featureless: NDArray[np.bool_],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The history sequence (leads x HISTORY + k: the full history, then the k new windows'
    maxima ``emax``) with constant windows repeating the entry before them and quiet ones (below
    ``QUIET_LEVEL`` x the median of the HISTORY entries before them) too, at most ``QUIET_MAX``
    in a row (``count``: quiet windows in a row so far, per lead; returned as the count after
    each window, leads x k), and with no limit while every lead is quiet or constant and the lead's
    last windows are ``featureless`` (leads x k, see ``_featureless``). The same steps as
    ``_push_history`` one window at a time, in Python floats: the same IEEE operations (the median
    as ``_median_last`` takes it), so the result does not depend on chunking."""
    out = seq.tolist()
    em, flat, fl = emax.tolist(), const.tolist(), featureless.tolist()
    cnt = count.tolist()
    counts = np.empty(emax.shape)
    h = HISTORY // 2
    leads = range(len(out))
    for j in range(HISTORY, len(out[0]) if out else HISTORY):
        jj = j - HISTORY
        low = []
        for i in leads:
            row = out[i]
            srt = sorted(row[j - HISTORY : j])
            low.append(not flat[i][jj] and em[i][jj] < QUIET_LEVEL * ((srt[h - 1] + srt[h]) / 2.0))
        everyone = all(low[i] or flat[i][jj] for i in leads)
        for i in leads:
            row, c = out[i], cnt[i]
            if flat[i][jj]:
                row[j] = row[j - 1]
            elif low[i]:
                row[j] = row[j - 1] if c < QUIET_MAX or (everyone and fl[i][jj]) else em[i][jj]
                c = min(c + 1, QUIET_MAX)
            else:
                row[j] = em[i][jj]
                c = 0.0
            cnt[i] = c
            counts[i, jj] = c
    return np.array(out), counts


def _featureless(subs: NDArray[np.float64]) -> NDArray[np.bool_]:
    """Whether a lead's last HISTORY windows (``subs``: their quarter-window slope maxima on the last
    axis, HISTORY x SUBWINDOWS, oldest first) lack the contrast of an ECG: the median quarter maximum
    above SAFE_FLOOR x the median window maximum. Noise and a bare baseline fill every quarter about
    equally; an ECG, however small, has quarters without a QRS (below 200 bpm)."""
    win = subs.reshape(*subs.shape[:-1], HISTORY, SUBWINDOWS).max(axis=-1)
    return _median_last(subs) > SAFE_FLOOR * _median_last(win)


def _runs(b: NDArray[np.bool_], count: NDArray[np.float64]) -> NDArray[np.float64]:
    """Length of the run of True ending at each of k windows (``b``: leads x k), continuing
    ``count`` (per lead) from before them, at most ``DARK_MAX``: what ``_push_history`` counts one
    window at a time (small integers in floats: exact either way)."""
    k = b.shape[1]
    idx = np.arange(k, dtype=np.float64)
    reset = np.maximum.accumulate(np.where(b, -1.0, idx), axis=1)  # last window not in a run
    runs = np.where(reset < 0, count[:, None] + idx + 1, idx - reset)
    return np.minimum(runs, DARK_MAX)


def _median_last(a: NDArray[np.float64]) -> NDArray[np.float64]:
    """Median over the last axis, as ``np.median`` gives it for finite values, but with less
    overhead on the short rows (8 values) used here."""
    srt = np.sort(a, axis=-1)
    k = srt.shape[-1]
    if k % 2:
        return srt[..., k // 2]
    return (srt[..., k // 2 - 1] + srt[..., k // 2]) / 2.0
