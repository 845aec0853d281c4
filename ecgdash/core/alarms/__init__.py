"""Alarm decisions in the stream: pure, on the signal clock, state serialisable and bounded.

* :class:`PatientMonitor` - one patient's detector + alarm engine, fed chunk by chunk.
* :class:`AlarmEngine` - the decisions (asystole, brady/tachycardia, signal loss, technical).
* :class:`Transition` - an alarm event raised or ended, named by (kind, priority, onset).
* :class:`Limits`, :class:`AlarmConfig` - per-patient HR limits; the engine's timing.
"""

from ecgdash.core.alarms.config import (
    ARRHYTHMIA_KINDS,
    ASYSTOLE,
    BRADYCARDIA,
    JOB_STALLED,
    LEADS_OFF,
    NOISY,
    PRIORITY_OF,
    SIGNAL_LOSS,
    STALE_DATA,
    TACHYCARDIA,
    AlarmConfig,
    Limits,
)
from ecgdash.core.alarms.engine import AlarmEngine, Transition
from ecgdash.core.alarms.monitor import PatientMonitor, beat_horizon

__all__ = [
    "ARRHYTHMIA_KINDS", "ASYSTOLE", "BRADYCARDIA", "JOB_STALLED", "LEADS_OFF", "NOISY",
    "PRIORITY_OF", "SIGNAL_LOSS", "STALE_DATA", "TACHYCARDIA", "AlarmConfig", "AlarmEngine",
    "Limits", "PatientMonitor", "Transition", "beat_horizon",
]
