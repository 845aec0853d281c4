"""False alarms per patient-hour of the alarm engine on annotated records (no services needed).

Runs each record through :class:`ecgdash.core.alarms.PatientMonitor` in 1-s chunks, exactly as
the alarm job feeds it, and judges every arrhythmia alarm against the cardiologists' beat
annotations: an asystole is false when a reference beat lies inside its window (onset + 0.15 s
to onset + asystole_s - 0.15 s, EC57's 150 ms tolerance); a brady/tachycardia is false when the
same HR estimator run on the reference beats never crosses the alarm's limit between its onset
and 2 s after it was raised. Used by ``bench/alarm_latency.py``; runnable alone.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import wfdb

from ecgdash.core.alarms import (
    ARRHYTHMIA_KINDS,
    ASYSTOLE,
    TACHYCARDIA,
    AlarmConfig,
    AlarmEngine,
    Limits,
    PatientMonitor,
    Transition,
)
from ecgdash.ingest.records import read_record

BEAT_SYMBOLS = set("NLRBAaJSVrFejnE/fQ!")


def reference_beats(path: Path) -> np.ndarray:
    ann = wfdb.rdann(str(path), "atr")
    return np.array([s for s, y in zip(ann.sample, ann.symbol, strict=True) if y in BEAT_SYMBOLS],
                    dtype=np.int64)


def run_monitor(adc: np.ndarray, fs: float, gains: tuple[float, ...], limits: Limits,
                config: AlarmConfig | None = None, chunk_s: float = 1.0
                ) -> list[tuple[float, Transition]]:
    """(signal time the chunk ended, transition) for a whole record fed in chunks; times in s
    from sample 0 (the stream's clock starts at 0)."""
    m = PatientMonitor(config)
    m.set_leads(tuple(str(i) for i in range(adc.shape[1])), gains)
    c = max(1, round(chunk_s * fs))
    out = []
    for i in range(0, adc.shape[0], c):
        for tr in m.feed(i, 0, fs, adc[i : i + c].T, limits, arrival_ms=round(i / fs * 1000)):
            out.append((min(i + c, adc.shape[0]) / fs, tr))
    return out


def reference_hr(beats_s: np.ndarray, config: AlarmConfig) -> list[tuple[float, float]]:
    """(beat time s, HR estimate) of the engine's estimator run on reference beats."""
    eng = AlarmEngine(config)
    out = []
    for t in beats_s:
        eng.beat(round(t * 1e6), True, Limits())
        est, _ = eng._estimate()  # noqa: SLF001 - the very estimator the alarms use
        if est is not None:
            out.append((float(t), est))
    return out


def supported(kind: str, priority: str, onset: float, at: float, ref_s: np.ndarray,
              ref_hr: list[tuple[float, float]], limits: Limits, cfg: AlarmConfig) -> bool:
    """Whether the reference annotations support an arrhythmia alarm (times in s)."""
    if kind == ASYSTOLE:
        inside = ref_s[(ref_s > onset + 0.15) & (ref_s < onset + cfg.asystole_s - 0.15)]
        return inside.size == 0
    fast = kind == TACHYCARDIA
    lim = {("tachycardia", "high"): limits.tachy_high,
           ("tachycardia", "medium"): limits.tachy_medium,
           ("bradycardia", "high"): limits.brady_high,
           ("bradycardia", "medium"): limits.brady_medium}[(kind, priority)]
    return any((hr > lim) if fast else (hr < lim) for t, hr in ref_hr if onset <= t <= at + 2)


@dataclass
class Judged:
    record: str
    hours: float
    alarms: list[dict] = field(default_factory=list)

    @property
    def false(self) -> list[dict]:
        return [a for a in self.alarms if not a["supported"]]


def judge_record(path: Path, limits: Limits, config: AlarmConfig | None = None) -> Judged:
    cfg = config or AlarmConfig()
    rec = read_record(path)
    gains = tuple(s.gain for s in rec.signals)
    ref_s = reference_beats(path) / rec.fs
    ref_hr = reference_hr(ref_s, cfg)
    res = Judged(path.name, rec.n_samples / rec.fs / 3600)
    for decided_s, tr in run_monitor(rec.adc, rec.fs, gains, limits, cfg):
        if tr.action != "raise" or tr.kind not in ARRHYTHMIA_KINDS:
            continue
        onset, at = tr.onset_us / 1e6, tr.at_us / 1e6
        ok = supported(tr.kind, tr.priority, onset, at, ref_s, ref_hr, limits, cfg)
        res.alarms.append({"kind": tr.kind, "priority": tr.priority, "onset_s": round(onset, 2),
                           "raised_s": round(decided_s, 2), "value": tr.value, "supported": ok})
    return res


def false_alarm_rate(folder: Path, limits: Limits | None = None,
                     config: AlarmConfig | None = None) -> dict:
    """False arrhythmia alarms per patient-hour over every record in ``folder``."""
    limits = limits or Limits()
    records = sorted(p.with_suffix("") for p in folder.glob("*.atr"))
    judged = [judge_record(p, limits, config) for p in records]
    hours = sum(j.hours for j in judged)
    n_false = sum(len(j.false) for j in judged)
    by_kind = {k: sum(1 for j in judged for a in j.false if a["kind"] == k) for k in ARRHYTHMIA_KINDS}
    return {
        "records": len(judged), "patient_hours": round(hours, 2),
        "alarms": sum(len(j.alarms) for j in judged), "false_alarms": n_false,
        "false_alarms_per_patient_hour": round(n_false / hours, 3) if hours else None,
        "false_by_kind": by_kind,
        "false_detail": {j.record: j.false for j in judged if j.false},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folders", nargs="+", type=Path)
    ap.add_argument("--json")
    args = ap.parse_args()
    out = {str(f): false_alarm_rate(f) for f in args.folders}
    for f, r in out.items():
        print(f, {k: v for k, v in r.items() if k != "false_detail"})
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
