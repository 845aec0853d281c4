"""Detector settings, in seconds and Hz so they hold at any sampling rate."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import signal


@dataclass(frozen=True, slots=True)
class DetectorConfig:
    """Tunable constants of the QRS detector (times in s, frequencies in Hz).

    The defaults are fixed for all records and sampling rates; there is no per-record tuning.
    """

    band_hz: tuple[float, float] = (5.0, 20.0)  # QRS energy band (Pan & Tompkins use 5-15 Hz)
    # a second, higher band: per lead the slope is (band_hz slope)^(1 - high_share) x (high_band_hz
    # slope)^high_share. A QRS has energy in both bands; electrode motion, baseline noise and P/T
    # waves mostly in the low one (kalidas2017 detects on a ~22-45 Hz wavelet band). 0 turns it off.
    high_band_hz: tuple[float, float] = (20.0, 35.0)
    high_share: float = 0.15
    # mains notches (both bands), each where below 0.45 x the sampling rate: bedside monitors filter
    # mains too; 0.3 mV of 50 Hz otherwise added 115 false beats to the 26 MIT-BIH records (README)
    notch_hz: tuple[float, ...] = (50.0, 60.0)
    notch_q: float = 5.0
    mwi_s: float = 0.10  # moving-window integration, about one QRS width
    peak_half_s: float = 0.18  # a candidate is the largest feature value within +-this
    refractory_s: float = 0.20  # no second beat closer than this
    refractory_rr: float = 0.3  # ... nor closer than this x the median RR
    twave_s: float = 0.36  # a low-slope candidate closer than this is taken for a T wave
    # decision delay: the future the detector may look at. 1.5 s: an early beat then its pause
    # (0.5x RR, then ~1.3 s, at ~50 bpm) passes the search-back test only once > 1 s of the pause
    # is seen; 2 s changes nothing more on the dev set (README, "Look-ahead 1.5 s")
    lookahead_s: float = 1.5
    init_s: float = 2.0  # learning period for the first thresholds
    window_s: float = 1.0  # quality window
    searchback: float = 1.6  # search back when no beat for this many x the cycle (_search_cycle)
    # ... for a candidate at least this x the QRS level after the last beat: in a pause the level
    # halves every recover_s, and search-back's half threshold would reach the baseline's noise
    searchback_min: float = 0.2
    recover_s: float = 1.5  # halve the signal level when no beat for this long
    # ... or for this x the median RR, if longer (once the RR history is full): in bradycardia
    # below 40 bpm every RR is longer than recover_s, the level halved before each beat and the
    # main threshold met the T-P baseline's noise (30 bpm: +P 96.6 -> 99.9 %, README)
    recover_rr: float = 1.0
    # ... but not below this x the level the last beat left while every lead in use has been quiet
    # for quality.PAUSE_WINDOWS windows (a pause: nothing there is a QRS, and halving on took the
    # main threshold down to the baseline's largest peaks 5-8 s into it)
    pause_floor: float = 0.25
    thr_frac: float = 0.35  # main threshold between noise (0) and signal (1) levels
    weak_frac: float = 0.6  # a candidate below this x the QRS level may be interposed noise
    weak_frac_regular: float = 0.8  # ... this x when the recent RR intervals are regular
    premature: float = 0.75  # ... when it comes before this x the median RR
    interposed: float = 1.2  # ... and a larger one follows within this x median RR of the last beat
    dominant: float = 1.3  # a premature candidate above weak_frac gives way to one this x larger
    noisy_early: float = 0.5  # in noise, in any rhythm, for a candidate before this x the median RR
    # in noise (no lead calm in the window before), a clear candidate below the threshold raised to
    # the between-beat floor gives way to a larger one that follows within interposed x the median
    # RR of the last beat, at any gap (StreamingQRSDetector._doubtful; README, "Doubt in noise")
    noisy_doubt: bool = True

    def __post_init__(self) -> None:
        for name in ("band_hz", "high_band_hz"):
            lo, hi = getattr(self, name)
            if not 0 < lo < hi:
                raise ValueError(f"{name} must be 0 < low < high, got {getattr(self, name)}")
        if not 0.0 <= self.high_share <= 1.0:
            raise ValueError(f"high_share must be in [0, 1], got {self.high_share}")
        if not self.notch_q > 0 or not all(f > 0 for f in self.notch_hz):
            raise ValueError(f"notch_hz must be > 0 and notch_q > 0, got {self.notch_hz}, {self.notch_q}")


@dataclass(frozen=True, slots=True)
class Derived:
    """Sample counts and filter coefficients derived from a config at one sampling rate."""

    fs: float
    sos: np.ndarray  # QRS band, then the mains notches
    sos_hi: np.ndarray | None  # the high band, then the mains notches (None: high_share 0)
    delay: int  # band-pass group delay near 10 Hz, samples
    mwi: int
    half: int
    refractory: int
    twave: int
    lookahead: int
    init: int
    window: int
    loc_span: int  # how far before a feature peak to look for the R peak, samples
    recover: int


@lru_cache(maxsize=64)
def derive(cfg: DetectorConfig, fs: float) -> Derived:
    """Turn a config into sample counts and coefficients for sampling rate ``fs`` (Hz).

    Cached per (config, rate): the streaming jobs rebuild every patient's detector from its state
    each batch, and the filter design here was ~7 % of their Python CPU (py-spy, 250 beds). The
    coefficients are shared: nothing writes them (scipy's sosfilt wants a writable buffer)."""
    if not np.isfinite(fs) or fs < 50:
        raise ValueError(f"sampling rate must be a finite number >= 50 Hz, got {fs!r}")
    notches = [signal.tf2sos(*signal.iirnotch(f0, cfg.notch_q, fs=fs))
               for f0 in cfg.notch_hz if f0 < 0.45 * fs]  # fmt: skip

    def band(lo: float, hi: float) -> np.ndarray:
        hi = min(hi, 0.45 * fs)
        if not lo < hi:
            raise ValueError(f"band {lo}-{hi} Hz is above 0.45 x the sampling rate {fs} Hz")
        return np.vstack([signal.butter(2, [lo, hi], btype="bandpass", fs=fs, output="sos"), *notches])

    sos = band(*cfg.band_hz)
    sos_hi = band(*cfg.high_band_hz) if cfg.high_share > 0 else None
    # group delay near 10 Hz: the sum over the second-order sections. The single (b, a)
    # polynomial loses precision as the poles near the unit circle (scipy warned from about 8 kHz,
    # was 5 samples off at 16 kHz and negative at 32 kHz); below 4 kHz both round the same.
    gd = sum(float(signal.group_delay((s[:3], s[3:]), w=[10.0], fs=fs)[1][0]) for s in sos)

    def n(sec: float) -> int:
        return max(1, int(round(sec * fs)))

    return Derived(
        fs=float(fs),
        sos=sos,
        sos_hi=sos_hi,
        delay=int(round(gd)),
        mwi=n(cfg.mwi_s),
        half=n(cfg.peak_half_s),
        refractory=n(cfg.refractory_s),
        twave=n(cfg.twave_s),
        lookahead=n(cfg.lookahead_s),
        init=n(cfg.init_s),
        window=n(cfg.window_s),
        loc_span=n(cfg.mwi_s + 0.05),
        recover=n(cfg.recover_s),
    )
