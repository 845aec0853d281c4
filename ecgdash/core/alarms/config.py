"""Alarm settings: per-patient heart-rate limits and the engine's timing, in bpm and seconds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Priority = Literal["high", "medium", "low"]

# kinds decided in the stream (per patient, on the signal clock)
ASYSTOLE = "asystole"
BRADYCARDIA = "bradycardia"
TACHYCARDIA = "tachycardia"
SIGNAL_LOSS = "signal_loss"
NOISY = "noisy"
LEADS_OFF = "leads_off"
# kinds raised by the watchdog, independent of the stream job
STALE_DATA = "stale_data"
JOB_STALLED = "job_stalled"

ARRHYTHMIA_KINDS = (ASYSTOLE, BRADYCARDIA, TACHYCARDIA)


@dataclass(frozen=True, slots=True)
class Limits:
    """One patient's heart-rate limits (bpm): beyond ``*_high`` is a high-priority alarm,
    beyond ``*_medium`` a medium one (IEC 60601-2-27 style adult defaults)."""

    brady_high: float = 40.0
    brady_medium: float = 50.0
    tachy_medium: float = 120.0
    tachy_high: float = 150.0

    def __post_init__(self) -> None:
        if not 0 < self.brady_high <= self.brady_medium < self.tachy_medium <= self.tachy_high:
            raise ValueError(
                "limits must satisfy 0 < brady_high <= brady_medium < tachy_medium <= tachy_high, "
                f"got {self.brady_high:g}/{self.brady_medium:g}/{self.tachy_medium:g}/"
                f"{self.tachy_high:g}"
            )


@dataclass(frozen=True, slots=True)
class AlarmConfig:
    """How the engine decides (times in s of the signal clock unless said otherwise)."""

    asystole_s: float = 4.0  # no beat for this long while signal is present
    hr_span_s: float = 4.0  # HR for brady/tachy: median of the newest RR intervals spanning this
    hr_min_intervals: int = 3  # ... and at least this many (all from trusted beats)
    hr_sustain_s: float = 2.0  # tachycardia: beyond a limit at beats this long apart (signal clock)
    brady_sustain_s: float = 1.0  # bradycardia: the same (in practice: one more slow beat)
    hr_run_s: float = 3.0  # ... or a run of intervals each beyond the limit spanning this long
    # a medium-priority rate alarm waits this many times longer (less urgent, and a rate just
    # over a medium limit is where a single missed or extra beat tips the estimate)
    medium_sustain_factor: float = 3.0
    hysteresis_bpm: float = 5.0  # a brady/tachy condition ends this far back inside the limit
    technical_s: float = 10.0  # noisy / leads-off on this long before the alarm
    clear_s: float = 5.0  # ... and clear this long before it ends
    signal_loss_s: float = 10.0  # no data for this long (arrival clock) is signal loss
    expire_s: float = 3600.0  # no data for this long: the patient is off monitoring, state dropped
    max_gap_s: float = 10.0  # a longer hole inside a stream restarts the detector (as the HR job)
    rr_history: int = 32  # RR intervals kept (bounds the state)
    # a detected beat under this peak-to-peak amplitude (mV, within +-qrs_half_s of the R peak,
    # on the leads that carried it) is not a QRS for the alarms: IEC 60601-2-27 asks monitors
    # to ignore QRS under 0.15 mV, so low-amplitude noise in an asystole is not counted as beats
    min_qrs_mv: float = 0.15
    qrs_half_s: float = 0.06
    ring_s: float = 4.0  # raw samples kept to measure it (beats come out <= ~2.2 s after the R peak)


PRIORITY_OF = {
    ASYSTOLE: "high",
    SIGNAL_LOSS: "medium",
    NOISY: "low",
    LEADS_OFF: "low",
    STALE_DATA: "medium",
    JOB_STALLED: "high",
}
