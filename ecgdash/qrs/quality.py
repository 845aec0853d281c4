"""Signal-quality index per fixed window (1 s by default), per lead.

Windows are aligned to the absolute sample index (window j covers samples
``[j*W, (j+1)*W)``), and every statistic is exact (counts, minima, maxima, medians), so the
result does not depend on how the stream was chunked.

Per lead and window the flags are:

* ``GAP``: more than 10 % of the samples were NaN/inf (they are held at the last valid value).
* ``FLAT``: no signal: the lead is constant, or its slope energy is below 1e-4 of the lead's
  typical QRS slope energy (leads off, flat line).
* ``SATURATED``: at least 10 % of the samples sit exactly on the window's minimum or maximum
  (clipping at the ADC rail).
* ``NOISY``: slope energy above 5 % of the typical QRS level for more than 30 % of the window
  (a clean ECG spends ~5-15 % there), or a peak more than 30x the typical QRS (artifact burst).

"Typical QRS slope energy" (``ref``) is the median of the lead's last 8 window maxima of the
squared first difference of the band-passed signal; it is scale-free, so ADC units and mV give the
same flags.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntFlag

import numpy as np
from numpy.typing import NDArray

HISTORY = 8
GAP_FRACTION = 0.10
FLAT_ENERGY = 1e-4
SATURATED_FRACTION = 0.10
NOISE_LEVEL = 0.05
NOISE_FRACTION = 0.30
ARTIFACT_RATIO = 30.0


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
    1 = at least one clean lead, 0.3 = only noisy leads, 0 = no usable lead.
    """

    start: int
    length: int
    flags: tuple[int, ...]
    quality: float

    @property
    def usable(self) -> bool:
        """True when heart rate from this window can be trusted."""
        return self.quality >= 0.5


def _score(flags: NDArray[np.int64]) -> float:
    if np.any(flags == 0):
        return 1.0
    if np.any((flags & int(UNUSABLE)) == 0):
        return 0.3
    return 0.0


class WindowQuality:
    """Streaming accumulator producing :class:`QualityWindow` s and per-window lead weights."""

    FIELDS = (
        "q_win", "q_n", "q_nnan", "q_vmin", "q_vmax", "q_cmin", "q_cmax", "q_emax",
        "q_chi", "q_hist", "q_nhist", "q_weight", "q_cummax",
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
        self.q_nhist = 0
        self.q_weight = np.zeros(n_leads)  # lead weights for the current window
        self.q_cummax = z.copy()  # running max of energy during window 0

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
        return np.median(self.q_hist[:, HISTORY - min(self.q_nhist, HISTORY) :], axis=1)

    def _close(self, start: int) -> QualityWindow:
        n = self.q_n
        ref = self._ref()
        flags = np.zeros(self.n_leads, dtype=np.int64)
        flags[self.q_nnan > GAP_FRACTION * n] |= LeadFlag.GAP
        has_ref = ref > 0
        flat = (self.q_vmax <= self.q_vmin) | (has_ref & (self.q_emax < FLAT_ENERGY * ref))
        flags[flat] |= LeadFlag.FLAT
        sat = ~flat & (self.q_cmin + self.q_cmax >= SATURATED_FRACTION * n)
        flags[sat] |= LeadFlag.SATURATED
        noisy = has_ref & (
            (self.q_chi > NOISE_FRACTION * n) | (self.q_emax > ARTIFACT_RATIO * ref)
        )
        flags[noisy] |= LeadFlag.NOISY
        win = QualityWindow(start, n, tuple(int(f) for f in flags), _score(flags))
        # history of typical QRS energy (flat windows would drag it to zero: skip them)
        if n == self.window:
            keep = np.where(flat, self.q_hist[:, -1] if self.q_nhist else 0.0, self.q_emax)
            self.q_hist = np.concatenate([self.q_hist[:, 1:], keep[:, None]], axis=1)
            self.q_nhist += 1
        # weights of the next window: usable leads, clean ones preferred, scaled to unit QRS
        ref = self._ref()
        usable = (flags & int(UNUSABLE)) == 0
        clean = flags == 0
        pick = clean if clean.any() else usable
        safe = np.where(ref > 0, ref, np.inf)
        self.q_weight = np.where(pick & (ref > 0), 1.0 / safe, 0.0)
        # reset accumulators
        self.q_win += 1
        self.q_n = 0
        self.q_nnan[:] = 0
        self.q_vmin[:], self.q_vmax[:] = np.inf, -np.inf
        self.q_cmin[:], self.q_cmax[:] = 0, 0
        self.q_emax[:] = 0.0
        self.q_chi[:] = 0
        return win

    def _accumulate(
        self, x: NDArray[np.float64], nan: NDArray[np.bool_], e: NDArray[np.float64]
    ) -> None:
        """Add samples (shape (L, m)) that all fall in the current window."""
        m = x.shape[1]
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
        """Per-sample weights for window 0, before any history: 1 / running max energy."""
        cm = np.maximum.accumulate(np.concatenate([self.q_cummax[:, None], e], axis=1), axis=1)[:, 1:]
        self.q_cummax = cm[:, -1].copy()
        return np.where(cm > 0, 1.0 / np.where(cm > 0, cm, 1.0), 0.0)

    # -- main entry ----------------------------------------------------------------------
    def update(
        self, start: int, x: NDArray[np.float64], nan: NDArray[np.bool_], e: NDArray[np.float64]
    ) -> tuple[NDArray[np.float64], list[QualityWindow]]:
        """Consume a chunk (leads x samples) starting at absolute sample ``start``.

        Returns the per-sample lead weights for the combined detection feature (shape like
        ``e``) and the windows completed in this chunk. One Python step per window, vectorised
        within each window.
        """
        w = self.window
        n = x.shape[1]
        weights = np.empty_like(e)
        done: list[QualityWindow] = []
        pos = 0
        while pos < n:
            take = min(w - self.q_n, n - pos)
            sl = slice(pos, pos + take)
            if self.q_win == 0:
                weights[:, sl] = self._weights_window0(e[:, sl])
            else:
                weights[:, sl] = self.q_weight[:, None]
            self._accumulate(x[:, sl], nan[:, sl], e[:, sl])
            pos += take
            if self.q_n == w:
                done.append(self._close(start + pos - w))
        return weights, done

    def finish(self, end: int) -> list[QualityWindow]:
        """Close the last, partial window at end of stream."""
        if self.q_n == 0:
            return []
        return [self._close(end - self.q_n)]
