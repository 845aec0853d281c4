"""One patient's bedside monitor: the streaming QRS detector feeding the alarm engine.

Takes the patient's chunks as they arrive (stream index, clock, ADC samples per lead) and keeps
the bookkeeping the heart-rate job keeps (restart on a new clock or a long hole, duplicates
skipped, short holes filled with NaN for the detector to flag), then turns the detector's beats,
quality windows and *beat horizon* into alarm transitions. Pure: the Spark job, the tests and the
false-alarm bench run exactly this. State: :meth:`to_bytes` (a few kB, bounded).
"""

from __future__ import annotations

import json
import struct
from typing import Any

import numpy as np

from ecgdash.core.alarms.config import AlarmConfig, Limits
from ecgdash.core.alarms.engine import AlarmEngine, Transition
from ecgdash.core.codec import samples_as_float
from ecgdash.core.qrs import ChunkResult, DetectorConfig, StateError, StreamingQRSDetector
from ecgdash.core.qrs.config import derive

MAGIC = b"ALM1"


def beat_horizon(det: StreamingQRSDetector) -> int:
    """A sample index before which the detector will emit no further beat.

    Candidates not yet found have their feature peak at or after ``frontier`` and their R peak
    at most ``loc_span + delay`` samples before it; candidates found but undecided (``pend``)
    and beats decided but not yet emitted (``ready``) carry their R-peak index.
    """
    d = derive(det.config, det.fs)  # cached per (settings, rate)
    h = int(det.frontier) - d.loc_span - d.delay
    if det.pend.shape[0]:
        h = min(h, int(det.pend[:, 3].min()))
    if det.ready.shape[0]:
        h = min(h, int(det.ready[:, 0].min()))
    return max(h, 0)


class PatientMonitor:
    """Detector and alarm engine of one patient's stream (see the module docstring)."""

    def __init__(self, config: AlarmConfig | None = None) -> None:
        self.cfg = config or AlarmConfig()
        self.engine = AlarmEngine(self.cfg)
        self.det: StreamingQRSDetector | None = None
        self.base = 0  # stream index of the detector's sample 0
        self.nxt = 0  # next stream index expected
        self.start_us = 0  # the stream's clock: time of stream index 0 (epoch µs)
        self.fs = 0.0  # Hz
        self.leads: tuple[str, ...] = ()
        self.gains: tuple[float, ...] = ()  # ADC units per mV, per lead (unknown: no QRS gate)
        self.ring = np.zeros((0, 0), dtype=np.int16)  # newest raw samples (n, leads), ADC units
        self.ring_start = 0  # stream index of ring[0]
        self.last_arrival_ms: int | None = None  # arrival clock of the newest chunk (Kafka ms)
        self.silent = False  # signal loss raised on the arrival clock

    def t_us(self, index: int) -> int:
        """Signal-clock time (epoch µs) of stream sample ``index``."""
        return self.start_us + round(index * 1e6 / self.fs)

    @property
    def last_sample_us(self) -> int | None:
        return None if self.fs <= 0 else self.t_us(self.nxt - 1)

    def set_leads(self, names: tuple[str, ...], gains: tuple[float, ...] = ()) -> None:
        """Lead names and gains (ADC units per mV) from the patient's registration."""
        self.leads = tuple(names)
        self.gains = tuple(float(g) for g in gains)

    def _is_qrs(self, index: int, leads: tuple[int, ...]) -> bool:
        """Whether the beat at stream ``index`` is at least ``min_qrs_mv`` peak to peak."""
        n_leads = self.ring.shape[1] if self.ring.ndim == 2 else 0
        if not self.gains or len(self.gains) != n_leads:
            return True  # gains unknown: no gate
        half = max(1, round(self.cfg.qrs_half_s * self.fs))
        a, b = index - half - self.ring_start, index + half + 1 - self.ring_start
        if a < 0 or b > self.ring.shape[0]:
            return True  # not in the ring (just restarted): no gate
        seg = self.ring[a:b].astype(np.float64)
        ptp = (seg.max(axis=0) - seg.min(axis=0)) / np.abs(np.asarray(self.gains))
        use = list(leads) or list(range(n_leads))
        return bool(ptp[use].max() >= self.cfg.min_qrs_mv)

    def _keep(self, x: np.ndarray, first: int) -> None:
        """Append samples (n, leads) at stream index ``first`` to the ring (trimmed once the
        chunk's beats are judged, so a long chunk's early beats still find their samples)."""
        xi = np.where(np.isfinite(x), x, 0).astype(np.int16)
        if self.ring.shape[1:] != xi.shape[1:] or first != self.ring_start + self.ring.shape[0]:
            self.ring, self.ring_start = xi, first
        else:
            self.ring = np.concatenate([self.ring, xi])

    def _trim_ring(self) -> None:
        keep = max(1, round(self.cfg.ring_s * self.fs))
        cut = self.ring.shape[0] - keep
        if cut > 0:
            self.ring = self.ring[cut:]
            self.ring_start += cut

    # ---------------------------------------------------------------- data
    def feed(self, first_index: int, start_us: int, fs: float, samples: np.ndarray,
             limits: Limits, arrival_ms: int | None = None,
             found: list[tuple[int, ChunkResult]] | None = None) -> list[Transition]:
        """One chunk: ``samples`` (n_leads, n) in ADC units from stream index ``first_index``.

        With ``found``, the detector's output is appended to it as (stream index of the
        detector's sample 0, result): its beats and quality windows, for a job that stores them
        (the alarm job writing the beats, so the heart-rate job need not detect them again).
        """
        out: list[Transition] = []
        n_leads, n = samples.shape
        eng = self.engine
        first_t = start_us + round(first_index * 1e6 / fs)
        if arrival_ms is not None:
            self.last_arrival_ms = max(arrival_ms, self.last_arrival_ms or arrival_ms)
        restart = (self.det is None or start_us != self.start_us or fs != self.fs
                   or n_leads != self.det.n_leads
                   or first_index > self.nxt + self.cfg.max_gap_s * fs)
        if restart:
            if self.fs > 0:  # an earlier stream (or a detector state this version refused)
                last_t = self.t_us(self.nxt - 1)
                hole_s = (first_t - last_t) / 1e6
                if not self.silent:
                    out += eng.data_lost(last_t, None, hole_s)
                out += eng.restart(last_t, first_t)
            else:
                eng.restart(first_t, first_t)
            out += eng.resume(first_t)
            self.det = StreamingQRSDetector(fs, n_leads, DetectorConfig())
            self.base = self.nxt = first_index
            self.start_us, self.fs = start_us, fs
        elif self.silent:
            out += eng.resume(max(first_t, self.t_us(self.nxt)))
        self.silent = False
        det = self.det
        assert det is not None
        if first_index + n <= self.nxt:
            return out  # already seen (a duplicated message)
        x = samples_as_float(samples)
        if first_index < self.nxt:
            x = x[self.nxt - first_index :]
        elif first_index > self.nxt:  # a short hole: the detector holds the last value
            out += eng.gap(self.t_us(self.nxt), first_t)
            x = np.vstack([np.full((first_index - self.nxt, n_leads), np.nan), x])
        self._keep(x, self.nxt)
        res = det.process(x)
        self.nxt = first_index + n
        if found is not None:
            found.append((self.base, res))
        events: list[tuple[int, int, Any]] = []
        for b in res.beats:
            events.append((self.t_us(self.base + b.index), 1, b))
        for w in res.windows:
            events.append((self.t_us(self.base + w.start), 0, w))
        for t, is_beat, item in sorted(events, key=lambda e: (e[0], e[1])):
            if is_beat:
                if self._is_qrs(self.base + item.index, item.leads):
                    out += eng.beat(t, item.hr_bpm is not None, limits)
            else:
                dur = round(item.length * 1e6 / fs)
                out += eng.window(t, dur, item.flags, self.leads)
        out += eng.advance(self.t_us(self.base + beat_horizon(det)), limits)
        self._trim_ring()
        return out

    def silence(self, ward_ms: int) -> list[Transition]:
        """The arrival clock reads ``ward_ms`` and nothing came since ``last_arrival_ms``."""
        if self.fs <= 0 or self.last_arrival_ms is None or self.silent:
            return []
        silent_s = (ward_ms - self.last_arrival_ms) / 1000
        if silent_s < self.cfg.signal_loss_s:
            return []
        self.silent = True
        last = self.last_sample_us
        assert last is not None
        return self.engine.data_lost(last, None, silent_s)

    def expire(self, ward_ms: int) -> list[Transition]:
        """Off monitoring: end every alarm, at the last sample + the silence on the arrival clock."""
        last = self.last_sample_us
        if last is None or self.last_arrival_ms is None:
            return []
        return self.engine.expire(last + (ward_ms - self.last_arrival_ms) * 1000)

    # ---------------------------------------------------------------- state
    def to_bytes(self) -> bytes:
        head = json.dumps({
            "base": self.base, "nxt": self.nxt, "start_us": self.start_us, "fs": self.fs,
            "leads": list(self.leads), "gains": list(self.gains), "ring_start": self.ring_start,
            "ring_shape": list(self.ring.shape), "last_arrival_ms": self.last_arrival_ms,
            "silent": self.silent, "engine": self.engine.state(),
        }, separators=(",", ":")).encode()  # fmt: skip
        det = self.det.to_bytes() if self.det is not None else b""
        ring = self.ring.astype("<i2").tobytes()
        return MAGIC + struct.pack("<II", len(head), len(ring)) + head + ring + det

    @classmethod
    def from_bytes(cls, blob: bytes, config: AlarmConfig | None = None) -> PatientMonitor:
        """Restore; a detector blob of another version starts a fresh detector (StateError)."""
        if blob[:4] != MAGIC:
            raise StateError("not an alarm monitor state (bad magic)")
        hlen, rlen = struct.unpack("<II", blob[4:12])
        try:
            st = json.loads(blob[12 : 12 + hlen])
            m = cls(config)
            m.engine = AlarmEngine.from_state(st["engine"], m.cfg)
        except (ValueError, KeyError, TypeError) as exc:
            raise StateError(f"alarm monitor state is not usable: {exc}") from exc
        m.base, m.nxt, m.start_us, m.fs = int(st["base"]), int(st["nxt"]), int(st["start_us"]), \
            float(st["fs"])
        m.leads = tuple(st["leads"])
        m.gains = tuple(st["gains"])
        m.ring_start = int(st["ring_start"])
        m.ring = np.frombuffer(blob[12 + hlen : 12 + hlen + rlen], dtype="<i2").astype(np.int16) \
            .reshape(st["ring_shape"])
        m.last_arrival_ms = st["last_arrival_ms"]
        m.silent = bool(st["silent"])
        rest = blob[12 + hlen + rlen :]
        if rest:
            try:
                m.det = StreamingQRSDetector.from_bytes(rest, DetectorConfig())
            except StateError:
                m.det = None  # another detector version: the next chunk restarts it, alarms kept
        return m
