"""The labels of one unit, as plain arrays: our beats and quality windows, the source's expert
annotations, and alarm events. Times are epoch microseconds on the signal clock."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def _f() -> np.ndarray:
    return np.zeros(0, np.float64)


def _i() -> np.ndarray:
    return np.zeros(0, np.int64)


def _s() -> list[str]:
    return []


@dataclass
class Labels:
    beat_time_us: np.ndarray = field(default_factory=_i)
    beat_sample_index: np.ndarray = field(default_factory=_i)
    beat_rr_ms: np.ndarray = field(default_factory=_f)  # NaN for a stream's first beat
    beat_hr_bpm: np.ndarray = field(default_factory=_f)
    beat_quality: np.ndarray = field(default_factory=_f)
    beat_leads: list[str] = field(default_factory=_s)
    quality_time_us: np.ndarray = field(default_factory=_i)
    quality_duration_s: np.ndarray = field(default_factory=_f)
    quality_valid: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    quality_sqi: np.ndarray = field(default_factory=_f)
    quality_flags: list[str] = field(default_factory=_s)
    ann_time_us: np.ndarray = field(default_factory=_i)
    ann_sample_index: np.ndarray = field(default_factory=_i)
    ann_source: list[str] = field(default_factory=_s)
    ann_symbol: list[str] = field(default_factory=_s)
    ann_subtype: np.ndarray = field(default_factory=_i)
    ann_chan: np.ndarray = field(default_factory=_i)
    ann_num: np.ndarray = field(default_factory=_i)
    ann_aux: list[str] = field(default_factory=_s)
    rhythm_before: str = ""  # the rhythm in force at the unit's start (last '+' before it)
    alarm_id: np.ndarray = field(default_factory=_i)
    alarm_kind: list[str] = field(default_factory=_s)
    alarm_priority: list[str] = field(default_factory=_s)
    alarm_onset_us: np.ndarray = field(default_factory=_i)
    alarm_ended_us: np.ndarray = field(default_factory=_i)  # -1 while still on
    alarm_value: np.ndarray = field(default_factory=_f)
    alarm_message: list[str] = field(default_factory=_s)
    alarm_acked_by: list[str] = field(default_factory=_s)

    def counts(self) -> dict[str, int]:
        return {"beats": int(self.beat_time_us.size), "quality": int(self.quality_time_us.size),
                "annotations": int(self.ann_time_us.size), "alarms": int(self.alarm_id.size)}
