"""The alarm decisions of one patient, on the signal clock: pure, no I/O, state a small dict.

Inputs, in signal order: beats (R-peak time; trusted or not for heart rate), 1-s quality windows
(flags per lead), the *beat horizon* (a time before which every beat is known: the detector will
emit none earlier), holes in the data, and silence on the arrival clock. Outputs:
:class:`Transition` s, each raising or ending one alarm event, named for good by (kind,
priority, onset), so a writer can apply them idempotently. The events do not depend on how the
stream was cut into chunks.

* asystole (high): no beat for ``asystole_s`` up to the beat horizon (or between two beats)
  while samples are present; a flat line on every lead is asystole (no quality gate). Onset: the
  last beat (or the point the data came back). Ends at the next beat.
* bradycardia / tachycardia: HR from the median of the newest trusted RR intervals spanning
  ``hr_span_s`` (at least ``hr_min_intervals``) beyond the patient's limits, sustained
  (``hr_sustain_s`` / ``brady_sustain_s`` between beats, or a run of intervals each beyond the
  limit spanning ``hr_run_s``; a medium alarm waits ``medium_sustain_factor`` x longer); high
  or medium by which limit. Onset: the first beat of the run of intervals beyond the limit (or
  the start of the span). Ends ``hysteresis_bpm`` back inside the limit; an interval of
  ``asystole_s`` or more, or an untrusted beat, starts a new run.
* signal loss (medium): no data for ``signal_loss_s`` (arrival clock), or a hole that long inside
  a stream. Onset: the last sample received. Ends when data comes back.
* noisy (low): no clean lead and noise or saturation on some, for ``technical_s``;
  leads_off (low): some but not all leads flat for ``technical_s``. End after ``clear_s`` clear.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from ecgdash.core.alarms.config import (
    ASYSTOLE,
    BRADYCARDIA,
    LEADS_OFF,
    NOISY,
    PRIORITY_OF,
    SIGNAL_LOSS,
    TACHYCARDIA,
    AlarmConfig,
    Limits,
)

_GAP, _FLAT, _SAT, _NOISY = 1, 2, 4, 8  # the detector's LeadFlag bits
US = 1_000_000
STATE_VERSION = 1


@dataclass(frozen=True, slots=True)
class Transition:
    """An alarm event raised or ended. ``onset_us`` names the event with (kind, priority);
    ``at_us`` is when it was decided (raise) or when the condition ended (end), signal clock."""

    kind: str
    priority: str
    action: Literal["raise", "end"]
    onset_us: int
    at_us: int
    value: float | None = None
    message: str = ""


class AlarmEngine:
    """One patient's alarm state machine; feed it in signal order."""

    def __init__(self, config: AlarmConfig | None = None, start_us: int = 0) -> None:
        self.cfg = config or AlarmConfig()
        self.active: dict[str, tuple[str, int]] = {}  # kind -> (priority, onset_us)
        self.last_beat_us: int | None = None
        self.present_since_us = start_us  # samples present (no hole) since
        self.rr: list[tuple[int, float]] = []  # (beat time µs, RR ms) of the current trusted run
        self.level = {TACHYCARDIA: 0, BRADYCARDIA: 0}  # 0 none, 1 medium, 2 high
        # a higher level seen but not yet sustained: kind -> [level, since µs, span start µs]
        self.pending: dict[str, list[int]] = {}
        # technical: since when the condition has been on (None: off), and since when clear
        self.tech_on: dict[str, int | None] = {NOISY: None, LEADS_OFF: None}
        self.tech_clear: dict[str, int | None] = {NOISY: None, LEADS_OFF: None}
        self.tech_value: dict[str, float] = {NOISY: 0.0, LEADS_OFF: 0.0}

    # ---------------------------------------------------------------- state
    def state(self) -> dict[str, Any]:
        """A JSON-able dict (bounded: at most ``rr_history`` intervals)."""
        return {
            "v": STATE_VERSION, "active": {k: list(v) for k, v in self.active.items()},
            "last_beat_us": self.last_beat_us, "present_since_us": self.present_since_us,
            "rr": [list(r) for r in self.rr], "level": dict(self.level),
            "pending": {k: list(v) for k, v in self.pending.items()},
            "tech_on": dict(self.tech_on), "tech_clear": dict(self.tech_clear),
            "tech_value": dict(self.tech_value),
        }  # fmt: skip

    @classmethod
    def from_state(cls, st: dict[str, Any], config: AlarmConfig | None = None) -> AlarmEngine:
        if st.get("v") != STATE_VERSION:
            raise ValueError(f"alarm state version {st.get('v')!r} is not {STATE_VERSION}")
        e = cls(config)
        e.active = {k: (str(v[0]), int(v[1])) for k, v in st["active"].items()}
        e.last_beat_us = st["last_beat_us"]
        e.present_since_us = int(st["present_since_us"])
        e.rr = [(int(t), float(r)) for t, r in st["rr"]]
        e.level = {k: int(v) for k, v in st["level"].items()}
        e.pending = {k: [int(x) for x in v] for k, v in st["pending"].items()}
        e.tech_on = dict(st["tech_on"])
        e.tech_clear = dict(st["tech_clear"])
        e.tech_value = {k: float(v) for k, v in st["tech_value"].items()}
        return e

    # ---------------------------------------------------------------- helpers
    def _raise(self, out: list[Transition], kind: str, priority: str, onset: int, at: int,
               value: float | None, message: str) -> None:
        self.active[kind] = (priority, onset)
        out.append(Transition(kind, priority, "raise", onset, at, value, message))

    def _end(self, out: list[Transition], kind: str, at: int) -> None:
        got = self.active.pop(kind, None)
        if got is not None:
            out.append(Transition(kind, got[0], "end", got[1], max(at, got[1])))

    # ---------------------------------------------------------------- inputs
    def beat(self, t_us: int, trusted: bool, limits: Limits) -> list[Transition]:
        """A beat (R peak at ``t_us``); ``trusted`` when the signal around it and the previous beat
        is good enough for heart rate (the detector's ``hr_bpm`` is not None)."""
        out: list[Transition] = []
        # a pause that became an asystole between two looks at the horizon (a long chunk): it is
        # raised all the same, so the events do not depend on how the stream was chunked
        ref = self._pause_ref()
        if ASYSTOLE not in self.active and t_us - ref >= self.cfg.asystole_s * US:
            pause = (t_us - ref) / US
            self._raise(out, ASYSTOLE, PRIORITY_OF[ASYSTOLE], ref,
                        ref + round(self.cfg.asystole_s * US), round(pause, 2),
                        f"asystole: no beat for {pause:.1f} s")
        self._end(out, ASYSTOLE, t_us)
        prev, self.last_beat_us = self.last_beat_us, t_us
        rr_ms = None if prev is None else (t_us - prev) / 1000
        if rr_ms is None or not trusted or rr_ms >= self.cfg.asystole_s * 1000 or rr_ms <= 0:
            self.rr = []  # a new run: nothing trusted to average across this beat
            return out
        self.rr.append((t_us, rr_ms))
        del self.rr[: -self.cfg.rr_history]
        est, span_start = self._estimate()
        if est is None:
            return out
        for kind, limits_of in ((TACHYCARDIA, (limits.tachy_medium, limits.tachy_high)),
                                (BRADYCARDIA, (limits.brady_medium, limits.brady_high))):
            self._hr_level(out, kind, limits_of, est, span_start, t_us)
        return out

    def _estimate(self) -> tuple[float | None, int]:
        """HR (bpm) from the median of the newest RR intervals spanning ``hr_span_s`` (at least
        ``hr_min_intervals``), and the span's start. The median shrugs off a missed or an extra
        beat, and follows a real change once it fills half the span."""
        total = 0.0
        for n, (t, rr) in enumerate(reversed(self.rr), start=1):
            total += rr
            if total >= self.cfg.hr_span_s * 1000 and n >= self.cfg.hr_min_intervals:
                window = sorted(r for _, r in self.rr[-n:])
                med = window[n // 2] if n % 2 else 0.5 * (window[n // 2 - 1] + window[n // 2])
                return 60000.0 / med, t - round(rr * 1000)
        return None, 0

    def _hr_level(self, out: list[Transition], kind: str, lims: tuple[float, float], est: float,
                  span_start: int, now: int) -> None:
        cur = self.level[kind]
        fast = kind == TACHYCARDIA
        hyst = self.cfg.hysteresis_bpm
        new = 0
        for lvl, lim in ((1, lims[0]), (2, lims[1])):
            thr = lim - hyst if (fast and cur >= lvl) else lim + hyst if cur >= lvl else lim
            if (est > thr) if fast else (est < thr):
                new = lvl
        if new <= cur:
            self.pending.pop(kind, None)
            if new < cur:  # back inside (by the hysteresis): the higher condition ends now
                self._set_level(out, kind, lims, new, est, span_start, now)
            return
        pend = self.pending.get(kind)
        if pend is None or pend[0] != new:
            pend = self.pending[kind] = [new, now, span_start]
        run = self._run_start(lims[new - 1], fast)
        slow = 1.0 if new == 2 else self.cfg.medium_sustain_factor  # medium: less urgent
        if now - pend[1] >= slow * self._sustain(kind) * US or (
                run is not None and now - run >= slow * self.cfg.hr_run_s * US):
            self._set_level(out, kind, lims, new, est, pend[2], now)

    def _sustain(self, kind: str) -> float:
        return self.cfg.hr_sustain_s if kind == TACHYCARDIA else self.cfg.brady_sustain_s

    def _set_level(self, out: list[Transition], kind: str, lims: tuple[float, float], new: int,
                   est: float, span_start: int, now: int) -> None:
        fast = kind == TACHYCARDIA
        self.pending.pop(kind, None)
        self.level[kind] = new
        self._end(out, kind, now)
        if new:
            lim = lims[new - 1]
            onset = self._run_onset(lim, fast, span_start)
            word = "above" if fast else "below"
            pri = "high" if new == 2 else "medium"
            self._raise(out, kind, pri, onset, now, round(est, 1),
                        f"{kind}: HR {est:.0f} bpm {word} the {pri} limit {lim:g}")

    def _run_start(self, limit: float, fast: bool) -> int | None:
        """First beat of the newest run of intervals each beyond ``limit`` (None: no such run)."""
        onset = None
        for t, rr in reversed(self.rr):
            hr = 60000.0 / rr
            if not ((hr > limit) if fast else (hr < limit)):
                break
            onset = t - round(rr * 1000)
        return onset

    def _run_onset(self, limit: float, fast: bool, span_start: int) -> int:
        """The event's onset: the first beat of the newest run of intervals beyond ``limit``
        (within the hysteresis; one stray interval inside the run does not end it), else the
        start of the span the estimate covered."""
        thr = limit - self.cfg.hysteresis_bpm if fast else limit + self.cfg.hysteresis_bpm
        onset, misses = None, 0
        for t, rr in reversed(self.rr):
            hr = 60000.0 / rr
            if (hr > thr) if fast else (hr < thr):
                onset, misses = t - round(rr * 1000), 0
            else:
                misses += 1
                if misses > 1:
                    break
        return span_start if onset is None else onset

    def window(self, t_us: int, dur_us: int, flags: tuple[int, ...], lead_names: tuple[str, ...] = ()
               ) -> list[Transition]:
        """A closed quality window starting at ``t_us``: the technical alarms."""
        out: list[Transition] = []
        if not flags or all(f & _GAP for f in flags):
            return out  # no data in it: holes are signal loss, told by gap()/silence()
        flat = [i for i, f in enumerate(flags) if f & _FLAT and not f & _GAP]
        noisy = (all(f & (_NOISY | _SAT | _FLAT | _GAP) for f in flags)
                 and any(f & (_NOISY | _SAT) for f in flags))
        leads_off = 0 < len(flat) < len(flags)
        names = [lead_names[i] if i < len(lead_names) else str(i) for i in flat]
        for kind, on, value, what in (
            (NOISY, noisy, 1.0, "noisy or saturated signal on every lead: check the electrodes"),
            (LEADS_OFF, leads_off, float(len(flat)), f"lead(s) {','.join(names)} flat: leads off?"),
        ):
            self._technical(out, kind, on, t_us, t_us + dur_us, value, what)
        return out

    def _technical(self, out: list[Transition], kind: str, on: bool, t0: int, t1: int,
                   value: float, what: str) -> None:
        cfg = self.cfg
        if on:
            self.tech_clear[kind] = None
            if self.tech_on[kind] is None:
                self.tech_on[kind] = t0
                self.tech_value[kind] = value
            since = self.tech_on[kind]
            assert since is not None
            if kind not in self.active and t1 - since >= cfg.technical_s * US:
                self._raise(out, kind, PRIORITY_OF[kind], since, t1, value, f"{kind}: {what}")
            return
        self.tech_on[kind] = None
        if kind in self.active:
            if self.tech_clear[kind] is None:
                self.tech_clear[kind] = t0
            clear = self.tech_clear[kind]
            assert clear is not None
            if t1 - clear >= cfg.clear_s * US:
                self._end(out, kind, clear)
                self.tech_clear[kind] = None

    def advance(self, horizon_us: int, limits: Limits) -> list[Transition]:
        """Every beat before ``horizon_us`` is known: decide asystole."""
        out: list[Transition] = []
        ref = self._pause_ref()
        pause = horizon_us - ref
        if ASYSTOLE not in self.active and pause >= self.cfg.asystole_s * US:
            self._raise(out, ASYSTOLE, PRIORITY_OF[ASYSTOLE], ref, horizon_us,
                        round(pause / US, 2), f"asystole: no beat for {pause / US:.1f} s")
        return out

    def _pause_ref(self) -> int:
        """Where the current pause started: the last beat, or the point the data came back."""
        if self.last_beat_us is None:
            return self.present_since_us
        return max(self.last_beat_us, self.present_since_us)

    def gap(self, from_us: int, to_us: int) -> list[Transition]:
        """No samples in [from_us, to_us) inside the stream (shorter than a restart)."""
        self.present_since_us = max(self.present_since_us, to_us)
        return []

    def data_lost(self, last_us: int, resume_us: int | None, silent_s: float) -> list[Transition]:
        """No data since the sample at ``last_us`` for ``silent_s``; ``resume_us`` when it is
        back (a hole seen in the data) or None (silence, seen on the arrival clock)."""
        out: list[Transition] = []
        if silent_s >= self.cfg.signal_loss_s and SIGNAL_LOSS not in self.active:
            for kind in list(self.active):  # the patient's state is unknown from here on
                self._end(out, kind, last_us)
            self._reset_conditions()
            self._raise(out, SIGNAL_LOSS, PRIORITY_OF[SIGNAL_LOSS], last_us,
                        last_us + round(silent_s * US), round(silent_s, 1),
                        f"signal loss: no data for {silent_s:.0f} s")
        if resume_us is not None:
            out += self.resume(resume_us)
        return out

    def resume(self, first_us: int) -> list[Transition]:
        """Data again from ``first_us`` (a restarted stream or the end of a silence)."""
        out: list[Transition] = []
        self._end(out, SIGNAL_LOSS, first_us)
        self.present_since_us = max(self.present_since_us, first_us)
        return out

    def restart(self, last_us: int, first_us: int) -> list[Transition]:
        """The stream restarted (new clock or a long hole): conditions of the old one end."""
        out: list[Transition] = []
        for kind in [k for k in self.active if k != SIGNAL_LOSS]:
            self._end(out, kind, last_us)
        self._reset_conditions()
        self.last_beat_us = None
        self.present_since_us = first_us
        return out

    def expire(self, at_us: int) -> list[Transition]:
        """The patient is off monitoring: every alarm condition ends."""
        out: list[Transition] = []
        for kind in list(self.active):
            self._end(out, kind, at_us)
        return out

    def _reset_conditions(self) -> None:
        self.rr = []
        self.level = {TACHYCARDIA: 0, BRADYCARDIA: 0}
        self.pending = {}
        self.tech_on = {NOISY: None, LEADS_OFF: None}
        self.tech_clear = {NOISY: None, LEADS_OFF: None}
