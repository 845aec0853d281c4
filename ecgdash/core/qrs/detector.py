"""Streaming, chunk-invariant multi-lead QRS detector.

Pipeline per chunk, all vectorised over samples:
NaN hold -> two 2nd-order Butterworth band-passes with mains notches (stateful ``sosfilt``: the
QRS band and a higher one) -> per lead |first difference| of each, combined as a weighted geometric
mean (``high_share``) -> leads weighted by the quality of the previous window and scaled to unit
typical QRS slope -> summed -> moving-window integration (root mean square, a running sum of
squares) -> candidates = local maxima within
+-``peak_half_s``. Python then loops once per candidate: Pan-Tompkins style adaptive signal and
noise levels, refractory period, T-wave rejection by slope, and a bounded search-back: a
candidate between the lower and the upper threshold becomes a beat when, looking at most
``lookahead_s`` ahead, no beat would otherwise occur for ``searchback`` x the beat cycle
(``_search_cycle``), if it reaches ``searchback_min`` x the QRS level the last beat left (the
level halves every ``recover_s`` without a beat, so in a pause the lower threshold would
otherwise sink to the baseline's noise; and while every lead in use has been quiet for
``quality.PAUSE_WINDOWS`` windows it halves no further than ``pause_floor`` x that level). Only
such candidates, and weak premature ones (see ``_interposed``), wait for the look-ahead; every
other candidate is decided as soon as it is known.

Chunk invariance: every operation is either element-wise, an exact reduction (max, counts,
medians), a strictly sequential recurrence carried in the state (``sosfilt`` with ``zi``, the
running sum seeded with its last value and reseeded at fixed absolute samples), or a decision
loop whose inputs do not depend on where chunks end. Hence ``push`` over any chunking gives
bit-identical beats to one ``push`` of the whole signal, and :func:`detect_beats` is defined as
exactly that.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import ndimage, signal

from ecgdash.core.qrs.config import DetectorConfig, derive
from ecgdash.core.qrs.quality import SAFE_FLOOR, QualityWindow, WindowQuality
from ecgdash.core.qrs.state import StateError, decode_state, encode_state

RR_HISTORY = 8
# the signal and noise levels learn from a candidate's value capped at this x the signal level
# before any halving since the last beat (so a large beat after a long pause still lifts it): one
# glitch (a single sample 1000-20000x the QRS, an electrode pop or a bad ADC word) then lifts the
# level at most 1.875x, below the 1 / thr_frac (2.9x) at which the next beats fall under the
# threshold; uncapped, each such glitch cost 7-26 beats while the level halved back down (106 and
# 208, tests/core/qrs/test_glitches.py)
LEVEL_CAP = 8.0
FLAT_RESIDUE = 1e-12  # relative slope below which window 0 counts a flat line as flat
# the combined feature is about in units of each lead's typical QRS slope; squared for the sum, a
# glitch of 1e8 x the QRS would leave a rounding residue of about 1 in the running sum until the
# next reseed (32 s); capped here, a residue stays below 1e-9 and a glitch still dwarfs any QRS
ENERGY_CAP = 1e3
RESEED_WINDOWS = 32  # the feature's running sum is recomputed exactly every this many windows
QUALITY_RING = 128
OFFLINE_BLOCK = 1 << 15  # samples per push in detect_beats


@dataclass(frozen=True, slots=True)
class Beat:
    """One detected beat.

    ``index``: R-peak sample index counted from the first sample ever pushed (time = index / fs).
    ``rr_ms``: interval to the previous beat in ms (None for the first beat).
    ``hr_bpm``: 60000 / rr_ms, or None when either beat lies in a window of unusable quality.
    ``leads``: indices of the leads that carried the detection.
    ``quality``: quality score of the beat's window in [0, 1] (see :class:`QualityWindow`).
    ``searchback``: found by search-back (below the main threshold).
    """

    index: int
    rr_ms: float | None
    hr_bpm: float | None
    leads: tuple[int, ...]
    quality: float
    searchback: bool = False


@dataclass(slots=True)
class ChunkResult:
    """Beats and quality windows completed by one :meth:`StreamingQRSDetector.process` call."""

    beats: list[Beat] = field(default_factory=list)
    windows: list[QualityWindow] = field(default_factory=list)


_SCALARS = (
    "n_seen", "started", "finished", "buf_start", "frontier", "mwi_sum", "initialized", "spk",
    "npk", "last_c", "last_slope", "last_decay", "n_rr", "prev_loc", "prev_q", "spk_beat",
)  # fmt: skip
_ARRAYS = (
    "last_x", "zi", "prev_bp", "zi_hi", "prev_hi", "fbuf", "ebuf", "gbuf", "mbuf", "rr", "pend", "ready",
    "qring",
)  # fmt: skip


class StreamingQRSDetector:
    """Detect R peaks in a multi-lead ECG stream fed in chunks of any size.

    ``fs`` is the sampling rate in Hz (>= 50), ``n_leads`` the number of leads; amplitudes may be
    ADC units or mV (every threshold is relative). Beats are emitted once: a clear beat on the
    rhythm when its 1-s quality window closes (about 0.5 s after the R peak on average, at most
    1 s); a beat that needs the look-ahead (search-back, premature) up to
    ``lookahead_s + peak_half_s`` plus one quality window after it.
    The state (:meth:`to_bytes`) stays a few kB however long the stream.
    """

    def __init__(self, fs: float, n_leads: int = 1, config: DetectorConfig | None = None) -> None:
        if n_leads < 1:
            raise ValueError(f"n_leads must be >= 1, got {n_leads}")
        self.fs = float(fs)
        self.n_leads = int(n_leads)
        self.config = config or DetectorConfig()
        self._d = derive(self.config, self.fs)
        self._q = WindowQuality(self._d.window, self.n_leads)
        L, nsec = self.n_leads, self._d.sos.shape[0]
        self.n_seen = 0  # samples pushed so far (per lead)
        self.started = 0
        self.finished = 0
        self.buf_start = 0  # absolute index of buffer element 0
        self.frontier = 0  # candidates at indices < frontier are known
        self.mwi_sum = 0.0
        self.initialized = 0
        self.spk = 0.0  # running QRS feature level
        self.npk = 0.0  # running noise feature level
        self.spk_beat = 0.0  # QRS feature level right after the last beat (before any halving)
        self.last_c = -1  # feature-peak index of the last beat (-1: none)
        self.last_slope = 0.0
        self.last_decay = -1
        self.n_rr = 0
        self.prev_loc = -1  # R index of the last emitted beat
        self.prev_q = 0.0
        self.last_x = np.full(L, np.nan)
        self.zi = np.zeros((nsec, L, 2))
        self.prev_bp = np.zeros(L)
        nhi = 0 if self._d.sos_hi is None else self._d.sos_hi.shape[0]
        self.zi_hi = np.zeros((nhi, L, 2))  # the high band's filter (config.high_band_hz)
        self.prev_hi = np.zeros(L)
        self.fbuf = np.zeros(0)  # integrated feature
        self.ebuf = np.zeros(0)  # combined slope energy
        self.gbuf = np.zeros(0)  # combined |band-pass| for locating the R peak
        # per sample: bit mask of the leads in use, and bit n_leads set in a pause (every lead in
        # use quiet for quality.PAUSE_WINDOWS windows; a beat's leads are read from the lower bits)
        self.mbuf = np.zeros(0)
        self.rr = np.zeros(RR_HISTORY)  # last RR intervals, samples
        self.pend = np.zeros((0, 5))  # candidates: c, value, slope, loc, lead mask (+ pause bit)
        self.ready = np.zeros((0, 4))  # decided beats: loc, c, searchback, lead mask
        self.qring = np.full((QUALITY_RING, 3), -1.0)  # recent windows: index, score, floor
        # derived from rr and n_rr, not state of their own: refractory period (samples),
        # level-halving interval (samples), interposed-rule level, whether the rhythm is regular,
        # median RR (samples)
        self.refr, self.rec, self.weak, self.regular, self._med = 0.0, 0.0, 0.0, False, 0.0
        self._update_refractory()
        self.trace: list[tuple[int, float, float, str]] | None = None  # debugging aid, not state

    # ---------------------------------------------------------------- state
    def to_bytes(self) -> bytes:
        """Serialise the full state (a few kB, bounded) for storage between micro-batches."""
        cfg = self.config
        out: dict[str, object] = {"fs": self.fs, "n_leads": self.n_leads}
        for f in fields(cfg):  # by name, so a later version can tell what it is reading
            out[f"cfg.{f.name}"] = getattr(cfg, f.name)
        for name in _SCALARS:
            out[name] = getattr(self, name)
        for name in _ARRAYS:
            out[name] = getattr(self, name)
        out.update(self._q.state())
        return encode_state(out)

    @classmethod
    def from_bytes(cls, blob: bytes, config: DetectorConfig | None = None) -> StreamingQRSDetector:
        """Restore a detector written by :meth:`to_bytes`.

        Raises :class:`~ecgdash.core.qrs.state.StateError` for a blob this version cannot continue:
        corrupt, written by an older detector, or (when ``config`` is given) written with other
        settings than ``config``. The caller then starts a fresh detector.
        """
        try:
            st = decode_state(blob)
            vals = {f.name: st[f"cfg.{f.name}"] for f in fields(DetectorConfig)}
            cfg = DetectorConfig(
                **{n: (tuple(v.tolist()) if v.ndim else type(getattr(DetectorConfig(), n))(v.item()))
                   for n, v in vals.items()}  # fmt: skip
            )
            if config is not None and cfg != config:
                raise StateError("QRS state was written with other detector settings")
            det = cls(float(st["fs"]), int(st["n_leads"]), cfg)
            for name in _SCALARS:
                setattr(det, name, st[name].item())
            for name in _ARRAYS:
                fresh, got = np.shape(getattr(det, name)), st[name].shape
                growing = len(fresh) > 0 and fresh[0] == 0  # buffers and queues (empty when new)
                ok = (len(got) == len(fresh) and got[1:] == fresh[1:]) if growing else got == fresh
                if not ok:  # a ring, history or filter state of another size: another version
                    raise StateError(f"QRS state field {name!r} has shape {got}, expected {fresh}")
                setattr(det, name, st[name])
            det._q.load(st)
        except StateError:
            raise
        except KeyError as exc:
            raise StateError(f"QRS state lacks {exc} (written by another detector version)") from exc
        except (ValueError, TypeError, IndexError) as exc:
            raise StateError(f"QRS state is not usable: {exc}") from exc
        det._update_refractory()
        return det

    # ---------------------------------------------------------------- public API
    def push(self, samples: ArrayLike) -> list[Beat]:
        """Feed samples (n, n_leads), or (n,) for one lead; return the newly confirmed beats."""
        return self.process(samples).beats

    def flush(self) -> list[Beat]:
        """End of stream: decide and return the remaining beats. The detector is then finished."""
        return self.finish().beats

    def process(self, samples: ArrayLike) -> ChunkResult:
        """Like :meth:`push`, also returning the quality windows completed by this chunk."""
        if self.finished:
            raise RuntimeError("detector was flushed; create a new one for a new stream")
        x = np.asarray(samples, dtype=np.float64)
        if x.ndim == 1 and self.n_leads == 1:
            x = x[:, None]
        if x.ndim != 2 or x.shape[1] != self.n_leads:
            raise ValueError(f"expected samples of shape (n, {self.n_leads}), got {np.shape(samples)}")
        out = ChunkResult()
        # in blocks of half the quality ring, so every beat still finds its window's score
        # there: a long push then scores beats exactly as a series of short ones does
        block = max(1, (QUALITY_RING // 2) * self._d.window)
        for pos in range(0, x.shape[0], block):
            self._ingest(np.ascontiguousarray(x[pos : pos + block].T), out)
            self._find_candidates(final=False)
            self._decide(final=False)
            self._emit(out, final=False)
            self._trim()
        return out

    def finish(self) -> ChunkResult:
        """Like :meth:`flush`, also returning the last (partial) quality window."""
        out = ChunkResult()
        if self.finished:
            return out
        out.windows.extend(self._note_windows(self._q.finish(self.n_seen)))
        if not self.initialized and self.n_seen > 0:
            self._init_levels()
        self._find_candidates(final=True)
        self._decide(final=True)
        self._emit(out, final=True)
        self.finished = 1
        return out

    # ---------------------------------------------------------------- stages
    def _ingest(self, x: NDArray[np.float64], out: ChunkResult) -> None:
        """Filter a chunk (leads x samples) and append its features to the buffers."""
        d, L, n = self._d, self.n_leads, x.shape[1]
        bad = ~np.isfinite(x)
        if bad.any():  # hold the last valid value across NaN/inf
            idx = np.where(bad, -1, np.arange(n))
            idx = np.maximum.accumulate(idx, axis=1)
            held = np.take_along_axis(x, np.maximum(idx, 0), axis=1)
            x = np.where(idx >= 0, held, np.nan_to_num(self.last_x, nan=0.0)[:, None])
        self.last_x = x[:, -1].copy()
        if not self.started:  # start the filters in steady state: no step transient at sample 0
            self.zi = signal.sosfilt_zi(d.sos)[:, None, :] * x[None, :, 0, None]
            self.started = 1
            if d.sos_hi is not None:
                self.zi_hi = signal.sosfilt_zi(d.sos_hi)[:, None, :] * x[None, :, 0, None]
        bp, self.zi = signal.sosfilt(d.sos, x, axis=1, zi=self.zi)
        slope = _abs_diff(bp, self.prev_bp)  # |first difference| of the band-passed signal
        self.prev_bp = bp[:, -1].copy()
        if self._q.q_win == 0:  # before any quality history: ignore float residue of a flat line
            # (measured: at most 5e-14 x the level, at 32 kHz; 1e-9 also zeroed every QRS of the
            # first window under a DC offset of 1e9, and the first 68 s of 106 were lost)
            slope[slope <= FLAT_RESIDUE * np.abs(x)] = 0.0
        # the lead weights are judged on the QRS band alone: on the combined slope a lead's tall
        # P/T waves look quieter and the lead won 3x its share (README, "Mains notches, a second band")
        sw, mask, pause, wins = self._q.update(self.n_seen, x, bad, slope)
        if d.sos_hi is not None:  # the feature: x the high band's slope, by their shares
            hb, self.zi_hi = signal.sosfilt(d.sos_hi, x, axis=1, zi=self.zi_hi)
            hi = _abs_diff(hb, self.prev_hi)
            self.prev_hi = hb[:, -1].copy()
            a = self.config.high_share
            slope = slope ** (1.0 - a) * hi**a if a < 1.0 else hi
        out.windows.extend(self._note_windows(wins))
        if L == 1:
            ec = slope[0] * sw[0]
            g = np.abs(bp[0]) * sw[0]
        else:
            ec = np.einsum("ln,ln->n", slope, sw)
            g = np.einsum("ln,ln->n", np.abs(bp, out=bp), sw)
        # moving-window integration as a root mean square (x the window): a running sum of the
        # squared feature seeded with its last value (sequential), reseeded with the exact window
        # sum at fixed absolute samples. The square weighs a QRS's brief steep slopes above noise
        # spread over the window (README, "Mains notches, a second band at a share, RMS integration")
        run = self._running_sum(_energy(ec), d.mwi)
        np.maximum(run, 0.0, out=run)
        np.sqrt(run * d.mwi, out=run)
        self.fbuf = np.concatenate([self.fbuf, run])
        self.ebuf = np.concatenate([self.ebuf, ec])
        self.gbuf = np.concatenate([self.gbuf, g])
        self.mbuf = np.concatenate([self.mbuf, mask + pause * float(1 << L)])
        self.n_seen += n
        if not self.initialized and self.n_seen >= d.init:
            self._init_levels()

    def _running_sum(self, ec: NDArray[np.float64], m: int) -> NDArray[np.float64]:
        """Sum of the last ``m`` values of ``ec`` (the ``_energy`` of the feature) at each sample,
        continuing from the buffer (which holds the feature).

        A running sum (add the new value, subtract the one ``m`` back), reseeded with the exact
        window sum at every ``RESEED_WINDOWS``-th window boundary (absolute sample index, so every
        chunking reseeds at the same samples with the same sums): a running sum keeps the rounding
        error of the largest value it ever held, and after one absurd sample (1e200) it stayed
        about -1e184, every later feature value 0 and no beat again.
        """
        n = ec.size
        hist = np.zeros(m)  # the m values before the chunk (zeros before the start)
        tail = self.ebuf[-m:]
        hist[m - tail.size :] = _energy(tail)
        both = np.concatenate([hist, ec])  # both[i] is ec[i - m]
        diff = ec - both[:n]
        full = both[1:]  # full[i : i + m] is the window ending at ec[i]
        run = np.empty(n)
        step = self._d.window * RESEED_WINDOWS
        seed, pos = self.mwi_sum, 0
        for b in [*range((-self.n_seen) % step, n, step), n]:
            if b > pos:
                steps = np.empty(b - pos + 1)
                steps[0] = seed
                steps[1:] = diff[pos:b]
                part = np.cumsum(steps)[1:]
                run[pos:b] = part
                seed = float(part[-1])
            if b < n:
                seed = float(np.sum(full[b : b + m]))
                run[b] = seed
                pos = b + 1
        self.mwi_sum = seed
        return run

    def _init_levels(self) -> None:
        """Learn the first signal and noise levels from the first ``init_s`` of the feature."""
        f = self.fbuf[: self._d.init]
        self.spk = 0.5 * float(f.max()) if f.size else 0.0
        self.npk = float(np.median(f)) if f.size else 0.0
        self.initialized = 1

    def _find_candidates(self, final: bool) -> None:
        """Local maxima of the feature in [frontier, n_seen - half) (all of it when final)."""
        d = self._d
        # at the end of the stream a peak must be confirmed by a following sample: a feature still
        # rising at the last sample is a QRS cut off (or a step), not a beat
        stop = self.n_seen - 1 if final else self.n_seen - d.half
        if stop <= self.frontier:
            return
        lo = max(self.buf_start, self.frontier - d.half)
        f = self.fbuf[lo - self.buf_start :]
        mf = ndimage.maximum_filter1d(f, 2 * d.half + 1, mode="constant", cval=-np.inf)
        a, b = self.frontier - lo, stop - lo
        seg = f[a:b]
        prev = f[a - 1 : b - 1] if a > 0 else np.concatenate([[-np.inf], f[: b - 1]])
        hit = np.flatnonzero((seg == mf[a:b]) & (seg > prev) & (seg > 0))
        self.frontier = stop
        if hit.size == 0:
            return
        pos = hit + a + (lo - self.buf_start)  # buffer positions
        # slope check value: max slope energy over the integration window before the peak
        span = np.arange(-d.mwi, 1)
        ix = np.clip(pos[:, None] + span, 0, None)
        slope = self.ebuf[ix].max(axis=1)
        span = np.arange(-d.loc_span, 1)
        ix = np.clip(pos[:, None] + span, 0, None)
        loc = ix[np.arange(pos.size), self.gbuf[ix].argmax(axis=1)] + self.buf_start - d.delay
        loc = np.maximum(loc, 0)
        rows = np.column_stack([pos + self.buf_start, self.fbuf[pos], slope, loc, self.mbuf[pos]]).astype(
            np.float64
        )
        self.pend = np.concatenate([self.pend, rows])

    def _decide(self, final: bool) -> None:
        """Adaptive-threshold decision, one Python step per candidate."""
        if not self.initialized or self.pend.shape[0] == 0:
            return
        d = self._d
        sb = self.config.searchback
        frac = self.config.thr_frac
        rows = self.pend.tolist()
        limit = np.inf if final else self.frontier - d.lookahead
        spk, npk, last_c = self.spk, self.npk, int(self.last_c)
        accepted: list[list[float]] = []
        i = 0
        n = len(rows)
        while i < n:
            c, v, s, loc, mask = rows[i]
            c = int(c)
            gap = c - last_c if last_c >= 0 else 1 << 60
            if gap > self.rec and c - self.last_decay > self.rec:
                in_pause = int(mask) >> self.n_leads & 1
                spk = max(0.5 * spk, npk, self.config.pause_floor * self.spk_beat if in_pause else 0.0)
                self.last_decay = c
            thr1 = npk + frac * (spk - npk)
            thr2 = 0.5 * thr1
            thr_n = self._noisy_threshold(c, gap, last_c, npk, spk)
            if c >= limit and self._needs_lookahead(c, v, s, gap, last_c, thr1, thr2, spk, thr_n):
                break  # decided later, once the look-ahead span is known
            i += 1
            if self.trace is not None:
                self.trace.append((c, v, thr1, "?"))
            if gap < self.refr:
                continue
            top = max(spk, self.spk_beat)  # the level before any halving since the last beat
            u = min(v, LEVEL_CAP * top) if top > 0 else v  # the value the levels learn from
            twave = gap < d.twave and s < 0.5 * self.last_slope
            if v >= thr1 and not twave and self._interposed(rows, i, c, v, last_c, thr1, spk):
                npk = 0.125 * u + 0.875 * npk
                continue
            if thr1 <= v < thr_n and not twave and self._doubtful(rows, i, c, v, last_c, thr1):
                npk = 0.125 * u + 0.875 * npk
                continue
            if v >= thr1 and not twave:
                spk = 0.125 * u + 0.875 * spk
                accepted.append([loc, c, 0.0, mask])
            elif v >= self._search_floor(thr2) and not twave and last_c >= 0:
                rr_avg = self._rr_median()
                end = c + d.lookahead
                near = self.config.premature * rr_avg
                bigger = False
                for c2, v2, *_ in rows[i:]:
                    if c2 > end:
                        break
                    if v2 >= thr1 and c2 - c >= d.refractory:
                        end = int(c2)
                        break
                    if v2 > v and c2 - c < near:  # a larger one for the same beat slot
                        bigger = True
                        break
                if not bigger and end - last_c > sb * self._search_cycle():
                    spk = 0.25 * u + 0.75 * spk
                    accepted.append([loc, c, 1.0, mask])
                else:
                    npk = 0.125 * u + 0.875 * npk
                    continue
            else:
                npk = 0.125 * u + 0.875 * npk
                continue
            self.spk_beat = spk
            if last_c >= 0:
                self._add_rr(c - last_c)
            last_c = c
            self.last_slope = s
        self.pend = self.pend[i:]
        self.spk, self.npk, self.last_c = spk, npk, last_c
        if accepted:
            self.ready = np.concatenate([self.ready, np.array(accepted)])

    def _needs_lookahead(self, c: int, v: float, s: float, gap: int, last_c: int, thr1: float,
                         thr2: float, spk: float, thr_n: float) -> bool:
        """Whether deciding candidate ``c`` reads later candidates (search-back or interposed).

        Every other candidate (refractory, T wave, below ``thr2``, or a clear beat that is not
        premature) is decided as soon as it is known, so a beat is emitted about
        ``peak_half_s`` after its feature peak rather than after the whole look-ahead. The
        decision is the same either way; only its timing changes.
        """
        if gap < self.refr or (gap < self._d.twave and s < 0.5 * self.last_slope):
            return False
        if thr1 <= v < thr_n:  # doubtful in noise: _doubtful reads the candidates after it
            return True
        if v >= thr1:
            cfg = self.config
            return (last_c >= 0 and self.n_rr >= RR_HISTORY
                    and (v < self.weak * spk or self.regular or self._noisy_early(c, gap))
                    and gap < cfg.premature * self._rr_median())  # fmt: skip
        return v >= self._search_floor(thr2) and last_c >= 0

    def _noisy_threshold(self, c: int, gap: int, last_c: int, npk: float, spk: float) -> float:
        """The main threshold raised to the between-beat floor, for a candidate at ``c`` in noise
        (the window before it had no lead with a floor at most ``SAFE_FLOOR``, as in
        ``_noisy_early``) within ``interposed`` x the median RR of the last beat; 0 otherwise.

        The floor is the level of a lead's largest non-QRS peaks relative to its QRS (the lowest
        over the leads in use): a candidate below that fraction of the way from the noise level to
        the QRS level is no taller than the noise around it. Such a candidate is not refused (a
        real beat in noise is often that small) but doubted: see ``_doubtful``."""
        if not self.config.noisy_doubt or last_c < 0 or self.n_rr < RR_HISTORY:
            return 0.0
        if gap >= self.config.interposed * self._rr_median():
            return 0.0
        row = self._window_row(c // self._d.window - 1)
        if row is None or row[2] <= SAFE_FLOOR:
            return 0.0
        return npk + float(row[2]) * (spk - npk)

    def _doubtful(self, rows: list[list[float]], i: int, c: int, v: float, last_c: int,
                  thr1: float) -> bool:
        """A clear candidate below the noise-raised threshold (``_noisy_threshold``) that gives
        way: a larger candidate above the threshold follows, at least the refractory period
        later and within ``interposed`` x the median RR of the last beat (where the next beat is
        due). The interposed rule (``_interposed``) asks the same of a weak premature candidate;
        in noise it is asked at any gap, of a candidate that passed only the plain threshold. A
        real premature beat keeps its place: its compensatory pause has no candidate that soon.

        Measured (README, "Doubt in noise"): every noise group gains on both folds, clean groups
        move by a beat at most. The threshold raised outright instead (an earlier trial) also
        dropped record 217's premature beats and lost one lead at -6 dB."""
        end = min(c + self._d.lookahead, last_c + self.config.interposed * self._rr_median())
        for c2, v2, *_ in rows[i:]:
            if c2 > end:
                break
            if c2 - c >= self._d.refractory and v2 > v and v2 >= thr1:
                return True
        return False

    def _search_floor(self, thr2: float) -> float:
        """The level a search-back candidate must reach: the lower threshold, and at least
        ``searchback_min`` x the QRS level the last beat left (``spk`` halves every
        ``recover_s`` without a beat; in a pause ``thr2`` would sink to the baseline's noise)."""
        return max(thr2, self.config.searchback_min * self.spk_beat)

    def _interposed(self, rows: list[list[float]], i: int, c: int, v: float, last_c: int,
                    thr1: float, spk: float) -> bool:
        """A weak, premature candidate that merely splits a regular RR interval is noise.

        True when ``v`` is well below the QRS level, the candidate comes early
        (``gap < premature`` x median RR), and a larger candidate above the threshold follows
        within the look-ahead so that it lands on the regular rhythm (``interposed`` x median
        RR after the last beat). A premature beat is followed by a (compensatory) pause, not by a
        beat on time. In a regular rhythm a premature candidate that is not weak gives way only
        to a ``dominant`` x larger one landing on the rhythm (noise peak before a paced beat).
        """
        cfg = self.config
        if last_c < 0 or self.n_rr < RR_HISTORY:
            return False
        strong = v >= self.weak * spk
        if strong and not self.regular and not self._noisy_early(c, c - last_c):
            return False
        rr = self._rr_median()
        gap = c - last_c
        if gap >= cfg.premature * rr:
            return False
        end = min(c + self._d.lookahead, last_c + cfg.interposed * rr)
        on_time = last_c + (2.0 - cfg.interposed) * rr
        for c2, v2, *_ in rows[i:]:
            if c2 > end:
                break
            if c2 - c < self._d.refractory:
                continue
            if strong:  # a clear candidate only gives way to a much larger one
                if v2 >= cfg.dominant * v and v2 >= thr1 and c2 >= on_time:
                    return True
                continue
            if v2 > v and v2 >= thr1:
                return True
            if v2 > 0.8 * v and v2 >= 0.5 * thr1 and c2 >= on_time:  # a beat right on the rhythm
                return True
        return False

    @property
    def rr(self) -> NDArray[np.float64]:
        """The last ``RR_HISTORY`` RR intervals (samples), oldest first, zero-padded in front."""
        out = np.zeros(RR_HISTORY)
        if self._rrl:
            out[RR_HISTORY - len(self._rrl) :] = self._rrl
        return out

    @rr.setter
    def rr(self, value: NDArray[np.float64]) -> None:
        k = min(int(self.n_rr), RR_HISTORY)
        self._rrl = [float(v) for v in np.asarray(value, dtype=np.float64)[RR_HISTORY - k :]] if k else []

    def _update_refractory(self) -> None:
        """Median RR; refractory period: ``refractory_s``, or ``refractory_rr`` x the median RR if
        longer; the time without a beat after which the QRS level halves: ``recover_s``, or
        ``recover_rr`` x the median RR if longer; ``weak_frac_regular`` instead of ``weak_frac``
        when the RR history is regular.

        Derived from the RR history (not state of its own): recomputed when it changes.
        """
        cfg = self.config
        self.refr = float(self._d.refractory)
        self.rec = float(self._d.recover)
        self.weak = cfg.weak_frac
        self.regular = False
        k = len(self._rrl)
        if k == 0:
            self._med = self.fs  # 1 s before any RR is known
            return
        v = sorted(self._rrl)  # a few values: sorting in Python beats np.median here
        med = self._med = _median(v)
        if k >= RR_HISTORY:
            self.refr = max(self.refr, cfg.refractory_rr * med)
            self.rec = max(self.rec, cfg.recover_rr * med)
            if v[-2] - v[1] <= 0.25 * med:  # a regular rhythm: RR spread (2nd to 7th) within 25 %
                self.weak = cfg.weak_frac_regular
                self.regular = True

    def _noisy_early(self, c: int, gap: int) -> bool:
        """A candidate at ``c``, ``gap`` samples after the last beat, that comes in noise and very
        early (before ``noisy_early`` x the median RR): the interposed rule then applies to it in
        an irregular rhythm too.

        Noise makes the rhythm look irregular (its false beats split the RR intervals), which
        otherwise exempts every clear candidate from the rule. "In noise": the window before
        the candidate had no lead with a low between-beat floor (``QualityWindow.floor`` above
        ``SAFE_FLOOR``). That window closed before any candidate of the next one is known, so
        chunking cannot change the answer. A true early beat is rarely followed, on the rhythm,
        by a candidate ``dominant`` x larger; in atrial fibrillation with large ectopic beats it
        can be, hence the tight ``noisy_early`` (0.6 and more lost beats of record 203).
        """
        if gap >= self.config.noisy_early * self._rr_median():
            return False
        row = self._window_row(c // self._d.window - 1)
        return row is not None and row[2] > SAFE_FLOOR

    def _search_cycle(self) -> float:
        """The beat cycle search-back measures a pause against (samples): the larger of the median
        RR and the median mean of two consecutive RR intervals.

        In bigeminy the RR history is half coupling intervals and half compensatory pauses, so its
        median sits on a knife edge: one extra short interval (a false beat, an ectopic couplet)
        drops it to the coupling interval; every pause then looks like a missed beat, search-back
        takes the ectopic beat's T wave or noise inside it, and each such false beat splits a pause
        into two more short intervals that hold the median down. The mean of two consecutive
        intervals is the basic cycle there whatever the mix; in a steady rhythm, with occasional
        ectopic beats and in atrial fibrillation it stays close to the median. Never below the
        median, so search-back never starts earlier than with the median alone (false beats lower
        the pair means). Computed only when a search-back is weighed (rare), not per beat.
        """
        r = self._rrl
        if len(r) < 2:
            return self._med
        return max(self._med, 0.5 * _median(sorted(r[i] + r[i + 1] for i in range(len(r) - 1))))

    def _rr_median(self) -> float:
        return self._med

    def _add_rr(self, rr: int) -> None:
        self._rrl.append(float(rr))
        if len(self._rrl) > RR_HISTORY:
            del self._rrl[0]
        self.n_rr += 1
        self._update_refractory()

    def _note_windows(self, wins: list[QualityWindow]) -> list[QualityWindow]:
        for w in wins:
            j = w.start // self._d.window
            self.qring[j % QUALITY_RING] = (j, w.quality, w.floor)
        return wins

    def _window_row(self, j: int) -> NDArray[np.float64] | None:
        """Quality window ``j``'s ring entry (index, score, floor), or None once overwritten."""
        row = self.qring[j % QUALITY_RING]
        return row if row[0] == j else None

    def _window_score(self, index: int) -> float:
        row = self._window_row(index // self._d.window)
        return 0.0 if row is None else float(row[1])

    def _emit(self, out: ChunkResult, final: bool) -> None:
        """Emit decided beats whose quality window is complete."""
        if self.ready.shape[0] == 0:
            return
        closed = np.inf if final else self._q.q_win * self._d.window
        k = 0
        for loc, _c, sbk, mask in self.ready.tolist():
            if loc >= closed:
                break
            k += 1
            loc_i = int(loc)
            if loc_i <= self.prev_loc:  # never two beats at one index
                continue
            q = self._window_score(loc_i)
            rr_ms = hr = None
            if self.prev_loc >= 0:
                rr_ms = (loc_i - self.prev_loc) * 1000.0 / self.fs
                if q >= 0.5 and self.prev_q >= 0.5:
                    hr = 60000.0 / rr_ms
            leads = tuple(b for b in range(self.n_leads) if int(mask) >> b & 1)
            out.beats.append(Beat(loc_i, rr_ms, hr, leads, q, bool(sbk)))
            self.prev_loc, self.prev_q = loc_i, q
        self.ready = self.ready[k:]

    def _trim(self) -> None:
        """Drop buffered samples no future step needs (keeps the state bounded)."""
        if not self.initialized:
            return
        d = self._d
        keep_from = self.frontier - d.half - d.loc_span - d.mwi - 2
        cut = keep_from - self.buf_start
        if cut > 0:
            self.fbuf = self.fbuf[cut:]
            self.ebuf = self.ebuf[cut:]
            self.gbuf = self.gbuf[cut:]
            self.mbuf = self.mbuf[cut:]
            self.buf_start += cut


def _energy(ec: NDArray[np.float64]) -> NDArray[np.float64]:
    """The squared feature, each value capped at ``ENERGY_CAP`` first."""
    return np.square(np.minimum(ec, ENERGY_CAP))


def _abs_diff(y: NDArray[np.float64], prev: NDArray[np.float64]) -> NDArray[np.float64]:
    """|first difference| along samples of ``y`` (leads x samples), ``prev`` the sample before."""
    out = np.empty_like(y)
    out[:, 0] = y[:, 0] - prev
    np.subtract(y[:, 1:], y[:, :-1], out=out[:, 1:])
    return np.abs(out, out=out)


def _median(v: list[float]) -> float:
    """Median of a sorted, non-empty list."""
    k = len(v)
    return float(v[k // 2]) if k % 2 else 0.5 * (v[k // 2 - 1] + v[k // 2])


def detect_beats(signal_: ArrayLike, fs: float, config: DetectorConfig | None = None) -> NDArray[np.int64]:
    """Offline R-peak sample indices for a whole recording (n,) or (n, n_leads) at ``fs`` Hz.

    Identical, by construction and by test, to streaming the same samples in any chunking.
    """
    x = np.asarray(signal_, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    det = StreamingQRSDetector(fs, x.shape[1], config)
    beats: list[Beat] = []
    for pos in range(0, x.shape[0], OFFLINE_BLOCK):  # cache-sized blocks: same result, faster
        beats += det.push(x[pos : pos + OFFLINE_BLOCK])
    beats += det.flush()
    return np.array([b.index for b in beats], dtype=np.int64)
