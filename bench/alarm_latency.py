"""Alarm latency on the real local services: injected events, wall-clock onset -> alarm row visible.

Starts a Tansu broker and native PostgreSQL, runs the raw writer (2 s), the heart-rate job (60 s)
and the alarm job (2 s) in one Spark session and the watchdog in a thread, then replays at speed 1
``--patients`` other patients (the shared MIT-BIH records, several patients per record at time
offsets) next to ``--event-patients`` patients whose signal carries injected events, one after
another, 35 s of the record between them:

* asystole: a spliced flat line on every lead (10 s), and a spliced low-amplitude no-QRS stretch
  (10 s, ~0.03 mV wander + noise); onset = the last beat before the pause;
* tachycardia: 60 beats time-compressed to ~170 bpm (from the record's rate at that point; QRS
  kept); onset = the first fast beat;
* bradycardia: 12 beats stretched to ~35 bpm (P-QRS-T kept); onset = the first slow beat;
* signal loss: the patient's producer stops for 20 s; onset = the last sample sent.

At speed 1 the signal clock is the wall clock (a chunk is sent when its last sample is due), so
latency = the first time a poller (every 0.25 s, as ecg_reader) sees the alarm row - the onset.
Then false arrhythmia alarms per patient-hour of the engine on every shared MIT-BIH record and,
separately, on the noise-stress records (``bench/alarm_offline.py``: the same monitor, fed as the
job feeds it, judged against the cardiologists' beats). Prints the figures, writes JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import psycopg

from ecgdash.core.alarms import Limits
from ecgdash.core.codec import SampleChunk, decode
from ecgdash.core.kafka import Publisher, ensure_topics
from ecgdash.devstack.broker import start_broker
from ecgdash.devstack.manager import wait_db
from ecgdash.devstack.postgres import init_cluster, start_postgres
from ecgdash.devstack.procs import free_port, stop_pid
from ecgdash.ingest.records import Recording, read_record
from ecgdash.ingest.replay import PatientStream, plan_streams, replay
from ecgdash.spark_jobs.alarm_job import start_alarm_job
from ecgdash.spark_jobs.hr_job import start_hr_job
from ecgdash.spark_jobs.raw_writer import start_raw_writer
from ecgdash.spark_jobs.session import make_spark
from ecgdash.timescale.alarms import check_staleness
from ecgdash.timescale.migrate import migrate

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from alarm_offline import false_alarm_rate, reference_beats, run_monitor  # noqa: E402

from tests.helpers.alarm_signals import splice_pause, warp_rate  # noqa: E402

EVENT_RECORDS = ("112", "115", "116", "122", "220", "230", "118", "101")  # regular rhythms
KINDS = ("asystole", "tachycardia", "bradycardia", "signal_loss")
SCHEDULE = (("asystole", "flat"), ("tachycardia", "compressed"), ("asystole", "low-amplitude"),
            ("bradycardia", "stretched"), ("signal_loss", "producer stop"))


@dataclass
class Event:
    patient: str
    kind: str
    how: str
    onset_s: float  # signal time from stream start
    end_s: float


class StoppingSender:
    """Sends a replay's messages, except a patient's sample chunks inside one of its `stops`
    (seconds of signal, [start, end)): the bedside producer stopped, i.e. signal loss."""

    def __init__(self, publisher: Publisher, stops: dict[str, list[tuple[int, int]]]) -> None:
        self.publisher = publisher
        self.stops = stops
        self.dropped = 0

    def __call__(self, key: bytes, value: bytes) -> None:
        st = self.stops.get(key.decode())
        if st:
            msg = decode(key, value)
            if isinstance(msg, SampleChunk):
                c = msg.first_index // round(msg.fs)
                if any(a <= c < b for a, b in st):
                    self.dropped += 1
                    return
        self.publisher.send(key, value)


def build_event_patient(rec: Recording, ref: np.ndarray, patient: str, first_s: float,
                        total_s: float, phase: int) -> tuple[Recording, list[Event], list[tuple]]:
    """The record with events spliced in from ``first_s``; returns the recording, the events
    and the producer stops [(from chunk, to chunk)]."""
    fs = rec.fs
    adc, beats = rec.adc.copy(), ref.copy()
    events: list[Event] = []
    stops = []
    at = first_s
    k = phase
    while at < total_s - 60:
        kind, how = SCHEDULE[k % len(SCHEDULE)]
        k += 1
        if kind == "signal_loss":
            c0 = int(at)
            stops.append((c0, c0 + 20))
            events.append(Event(patient, kind, how, (c0 * fs - 1) / fs, c0 + 20.0))
            at = c0 + 20 + 35
            continue
        # the rate here (the record's own varies), so the stretch lands at ~170 / ~35 bpm
        near = beats[(beats > at * fs) & (beats < (at + 20) * fs)]
        hr = 60 * fs / float(np.median(np.diff(near)))
        if kind == "asystole":
            adc, beats, inj = splice_pause(adc, beats, fs, int(at * fs), 10, how, seed=k)
        elif kind == "tachycardia":
            adc, beats, inj = warp_rate(adc, beats, fs, int(at * fs), 60, 170 / hr)
        else:
            adc, beats, inj = warp_rate(adc, beats, fs, int(at * fs), 12, 35 / hr)
        events.append(Event(patient, kind, how, inj.onset / fs, inj.end / fs))
        at = inj.end / fs + 35
    return Recording(patient, fs, rec.base_time, rec.signals, adc), events, stops


def engine_decisions(events: list[Event], recs: dict[str, Recording], total_s: float) -> dict:
    """The engine's own share of the latency, independent of the machine's load: the same
    monitor fed the event patients' signal offline in 1-s chunks; onset -> the end of the chunk
    whose arrival decided the alarm (signal loss: decided on the arrival clock, 10 s + a batch)."""
    got: dict[str, list[float]] = {}
    for pid, rec in recs.items():
        n = int(total_s * rec.fs)
        trans = [(t, tr) for t, tr in run_monitor(rec.adc[:n], rec.fs,
                                                  tuple(x.gain for x in rec.signals), Limits())
                 if tr.action == "raise"]
        for ev in (e for e in events if e.patient == pid and e.kind != "signal_loss"):
            dec = [t for t, tr in trans if tr.kind == ev.kind
                   and ev.onset_s - 2 <= tr.onset_us / 1e6 <= ev.end_s + 2]
            if dec:
                got.setdefault(ev.kind, []).append(min(dec) - ev.onset_s)
    return {k: {"n": len(v), "p50_s": round(float(np.percentile(v, 50)), 2),
                "p95_s": round(float(np.percentile(v, 95)), 2), "max_s": round(max(v), 2)}
            for k, v in got.items()}


def judge_live(alarms: list[tuple], streams: list[PatientStream], t0: float, folder: Path
               ) -> list[tuple]:
    """The live arrhythmia alarms of the other patients that the reference beats of the record
    they replay do not support (same rule as alarm_offline.py; stream time -> record time)."""
    from alarm_offline import reference_hr, supported

    from ecgdash.core.alarms import AlarmConfig

    cfg = AlarmConfig()
    by = {s.patient: s for s in streams}
    refs: dict[str, tuple[np.ndarray, list]] = {}
    out = []
    for patient, kind, priority, onset in alarms:
        s = by.get(patient)
        if s is None:
            continue
        rec = s.recording
        if rec.name not in refs:
            r = reference_beats(folder / rec.name) / rec.fs
            refs[rec.name] = (r, reference_hr(r, cfg))
        ref_s, _ = refs[rec.name]
        dur = rec.n_samples / rec.fs
        base = (s.source_offset / rec.fs + (onset.timestamp() - t0)) % dur
        # the reference around that spot, shifted so the alarm's onset sits at `base`
        ok = supported(kind, priority, base, base + 8.0, ref_s, refs[rec.name][1], Limits(), cfg)
        if not ok:
            out.append((patient, kind, priority, round(base, 2)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=50, help="other patients streaming")
    ap.add_argument("--event-patients", type=int, default=8)
    ap.add_argument("--minutes", type=float, default=10.0, help="signal replayed at speed 1")
    ap.add_argument("--records", type=Path, default=ROOT.parent.parent / "shared" / "data" / "mitdb")
    ap.add_argument("--nstdb", type=Path, default=ROOT.parent.parent / "shared" / "data" / "nstdb")
    ap.add_argument("--skip-offline", action="store_true", help="no false-alarm runs")
    ap.add_argument("--json", default=str(ROOT / "bench" / "results" / "alarm_latency.json"))
    args = ap.parse_args()
    if not args.records.exists():
        args.records = Path("/work/shared/data/mitdb")
        args.nstdb = Path("/work/shared/data/nstdb")

    total_s = args.minutes * 60
    load = [os.getloadavg()]
    tmp = Path(tempfile.mkdtemp(prefix="alarm-latency-"))
    bport, dport = free_port(), free_port()
    broker = start_broker(bport, tmp / "broker.log")
    pw = secrets.token_hex(8)
    init_cluster(tmp / "pg", pw)
    pg = start_postgres(tmp / "pg", dport, tmp / "pg.log")
    admin = f"postgresql://postgres:{pw}@127.0.0.1:{dport}/postgres"
    bootstrap = f"127.0.0.1:{bport}"
    spark = None
    try:
        wait_db(admin)
        migrate(admin, writer_password=pw, reader_password=pw)
        writer = admin.replace("postgres:", "ecg_writer:", 1)
        reader = admin.replace("postgres:", "ecg_reader:", 1)
        ensure_topics(bootstrap, {"ecg.waveform": 4, "ecg.waveform.dlq": 1})
        # the streams: others from every shared record, event patients with splices
        names = sorted(p.stem for p in args.records.glob("*.atr"))
        recs = [read_record(args.records / n) for n in names]
        start_us = time.time_ns() // 1000 + 30_000_000  # sample 0 is due when the replay starts
        others = plan_streams(recs, args.patients, seconds=total_s, loop=True, start_us=start_us)
        event_streams, events, stops, event_recs = [], [], {}, {}
        for j in range(args.event_patients):
            name = EVENT_RECORDS[j % len(EVENT_RECORDS)]
            pid = f"ev{j:02d}-{name}"
            rec, evs, st = build_event_patient(read_record(args.records / name),
                                               reference_beats(args.records / name), pid,
                                               60 + 7 * j, total_s, j)
            event_streams.append(PatientStream(pid, rec, 0, start_us, int(total_s * rec.fs),
                                               chunk=round(rec.fs)))
            event_recs[pid] = rec
            events += evs
            stops[pid] = st
        # a busy machine can take longer than Spark's 15 s for a Python worker to start and
        # connect back; give it time (the session's other settings are the jobs' own)
        os.environ.setdefault("PYSPARK_SUBMIT_ARGS",
                              "--conf spark.python.authenticate.socketTimeout=120s pyspark-shell")
        spark = make_spark()
        raw, raw_w = start_raw_writer(spark, bootstrap=bootstrap, topic="ecg.waveform",
                                      dlq_topic="ecg.waveform.dlq", writer_dsn=writer,
                                      checkpoint=tmp / "ck-raw", trigger_s=2.0)
        hr, hr_w = start_hr_job(spark, bootstrap=bootstrap, topic="ecg.waveform",
                                writer_dsn=writer, checkpoint=tmp / "ck-hr", trigger_s=60.0)
        alarm, alarm_w = start_alarm_job(spark, bootstrap=bootstrap, topic="ecg.waveform",
                                         writer_dsn=writer, checkpoint=tmp / "ck-alarm",
                                         trigger_s=2.0)
        # warm up: Spark's first batch starts the Python workers (tens of seconds on a busy
        # machine); let every query process one patient's 5 s before the clock starts
        from ecgdash.ingest.run import run_ingest

        run_ingest(str(args.records), bootstrap, "ecg.waveform", records=[names[0]], seconds=5,
                   speed=None, mapping={names[0]: "warmup"}, show_progress=False,
                   start_us=time.time_ns() // 1000 - 3_600_000_000)
        for q in (raw, alarm, hr):
            q.processAllAvailable()
        start_us = max(start_us, time.time_ns() // 1000 + 5_000_000)
        for st in [*others, *event_streams]:
            st.start_us = start_us
        seen: dict[tuple, float] = {}
        stop = threading.Event()

        def poll() -> None:
            with psycopg.connect(reader, autocommit=True) as conn:
                while not stop.is_set():
                    now = time.time()
                    for key in conn.execute(
                            "SELECT patient_id, kind, priority, onset, raised_at, value "
                            "FROM alarm_events WHERE patient_id IS NOT NULL").fetchall():
                        seen.setdefault(key[:4], now)
                    time.sleep(0.25)

        def watch() -> None:
            with psycopg.connect(writer, autocommit=True) as conn:
                while not stop.is_set():
                    check_staleness(conn, now=datetime.now(UTC), stale_s=15,
                                    jobs={"alarm_job": 15.0, "raw_writer": 15.0})
                    time.sleep(2)

        threads = [threading.Thread(target=f, daemon=True) for f in (poll, watch)]
        for t in threads:
            t.start()
        publisher = Publisher(bootstrap, "ecg.waveform")
        send = StoppingSender(publisher, stops)

        wall0: list[float] = []

        def clock() -> float:
            if not wall0:  # replay's t0: chunk j of every stream is due at t0 + its end time
                wall0.append(time.time())
            return time.monotonic()

        # sample 0's time is start_us; replay starts its clock now: align the two
        time.sleep(max(0.0, start_us / 1e6 - time.time() - 1.0))
        print(f"replaying {args.patients} + {args.event_patients} patients for {total_s:.0f} s "
              f"at speed 1 ({len(events)} injected events)", flush=True)
        stats = replay([*others, *event_streams], send, speed=1.0, clock=clock)
        publisher.flush()
        load.append(os.getloadavg())
        replay_end = time.time()
        alarm.processAllAvailable()  # a pipeline that fell behind still gets to decide (and is timed)
        time.sleep(15)
        catch_up_s = time.time() - replay_end
        stop.set()
        for t in threads:
            t.join()
        load.append(os.getloadavg())
        t0 = start_us / 1e6
        skew = wall0[0] - t0  # replay start vs sample 0's time (~0)
        kinds: dict[str, dict] = {}
        detail = []
        for ev in events:
            onset_wall = t0 + skew + ev.onset_s
            cands = [(t, k) for k, t in seen.items() if k[0] == ev.patient and k[1] == ev.kind
                     and ev.onset_s - 2 <= k[3].timestamp() - t0 <= ev.end_s + 2]
            lat = min((t - onset_wall for t, _ in cands), default=None)
            detail.append({"patient": ev.patient, "kind": ev.kind, "how": ev.how,
                           "onset_s": round(ev.onset_s, 3),
                           "latency_s": None if lat is None else round(lat, 2)})
            k = kinds.setdefault(ev.kind, {"injected": 0, "detected": 0, "lat": []})
            k["injected"] += 1
            if lat is not None:
                k["detected"] += 1
                k["lat"].append(lat)
        for k in kinds.values():
            lat = k.pop("lat")
            k["p50_s"] = round(float(np.percentile(lat, 50)), 2) if lat else None
            k["p95_s"] = round(float(np.percentile(lat, 95)), 2) if lat else None
            k["max_s"] = round(float(max(lat)), 2) if lat else None
        # alarms of the other patients raised while they streamed (the end of the replay makes
        # every patient stale and the raw writer idle, which the watchdog rightly reports)
        live_others = [k for k in seen if not k[0].startswith(("ev", "warmup"))
                       and k[3].timestamp() < t0 + total_s - 5]
        arrhythmia = [k for k in live_others if k[1] in ("asystole", "bradycardia", "tachycardia")]
        technical = [k for k in live_others if k[1] not in ("asystole", "bradycardia", "tachycardia")]
        live_false = judge_live(arrhythmia, others, t0, args.records)
        progress = [p for p in alarm.recentProgress if p.get("numInputRows", 0) > 0]
        batch_ms = [p["durationMs"].get("triggerExecution", 0) for p in progress]
        figures: dict = {
            "kinds": {k: kinds.get(k, {"injected": 0, "detected": 0}) for k in KINDS},
            "patients_other": args.patients, "event_patients": args.event_patients,
            "seconds": total_s, "messages_sent": stats.messages, "messages_dropped": send.dropped,
            "replay_late_s_max": round(stats.late_s_max, 3),
            "alarm_job_catch_up_after_replay_s": round(catch_up_s, 1),
            "live_other_patients_alarms": {
                "arrhythmia": len(arrhythmia), "arrhythmia_unsupported": len(live_false),
                "technical": len(technical),
                "patient_hours": round(args.patients * total_s / 3600, 2),
                "by_kind": {kk: sum(1 for k in live_others if k[1] == kk)
                            for kk in sorted({k[1] for k in live_others})}},
            "alarm_batch_ms_p50_max": [float(np.percentile(batch_ms, 50)), float(max(batch_ms))]
            if batch_ms else None,
            "load_avg_1_5_15": {"start": load[0], "end_of_replay": load[1], "end": load[2]},
            "cores": os.cpu_count(),
            "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "command": " ".join(["python", "bench/alarm_latency.py", *sys.argv[1:]]),
        }
        for q in (raw, hr, alarm):
            q.stop()
        for w in (raw_w, hr_w, alarm_w):
            w.close()
        print(json.dumps(figures["kinds"], indent=1), flush=True)
        if not args.skip_offline:
            mit = false_alarm_rate(args.records)
            figures["false_alarms_per_patient_hour"] = mit["false_alarms_per_patient_hour"]
            figures["false_alarms_mitdb"] = mit
            if args.nstdb.exists():
                nst = false_alarm_rate(args.nstdb)
                figures["false_alarms_per_patient_hour_nstdb"] = nst["false_alarms_per_patient_hour"]
                figures["false_alarms_nstdb"] = nst
        figures["engine_decision_s"] = engine_decisions(events, event_recs, total_s)
        figures["events"] = detail
        for k, v in figures.items():
            if k not in ("events", "false_alarms_mitdb", "false_alarms_nstdb"):
                print(f"{k:28} {v}")
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(figures, indent=2, default=str))
    finally:
        if spark is not None:
            spark.stop()
        stop_pid(pg.pid)
        stop_pid(broker.pid)


if __name__ == "__main__":
    main()
