"""The parts `bench/capacity.py` runs as processes of their own, so each one's CPU and memory is
measured apart: the producer (beds replayed at speed 1, a few with injected alarm events), the
Grafana-like wall client (every query of a 16-bed wall page every 2 s) and the probe (when a
sample of beds' beats and every alarm row first become visible).

    python bench/capacity_parts.py producer --bootstrap B --beds N --seconds S --out P.json
    python bench/capacity_parts.py wall --dsn READER --out W.json
    python bench/capacity_parts.py probe --dsn READER --patients-file F --out Q.json

Each role runs until its time is up or it gets SIGTERM, then writes its JSON.
"""

from __future__ import annotations

import argparse
import json
import signal
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

SHARED_MITDB = Path("/work/shared/data/mitdb")
EVENT_PREFIX = "ev"


def _stopper() -> threading.Event:
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    return stop


# --------------------------------------------------------------------------- producer

def run_producer(args: argparse.Namespace) -> None:
    """Replay `beds` beds at speed 1 from the shared MIT-BIH records; `events` of them carry
    injected asystole / tachycardia / bradycardia / signal-loss events (bench/alarm_latency.py's
    splices). Sample 0 of every stream is the wall clock when the replay starts."""
    from alarm_latency import StoppingSender, build_event_patient
    from alarm_offline import reference_beats

    from ecgdash.core.kafka import Publisher
    from ecgdash.ingest.records import read_record
    from ecgdash.ingest.replay import PatientStream, plan_streams, replay

    folder = Path(args.records)
    names = sorted(p.stem for p in folder.glob("*.atr"))
    recs = [read_record(folder / n) for n in names]
    n_events = min(args.events, args.beds)
    start_us = time.time_ns() // 1000
    streams = plan_streams(recs, args.beds - n_events, seconds=args.seconds, loop=True,
                           start_us=start_us, names={r.name: f"p{r.name}" for r in recs})
    events, stops = [], {}
    event_records = ("112", "115", "116", "122", "220", "230", "118", "101")
    for j in range(n_events):
        name = event_records[j % len(event_records)]
        pid = f"{EVENT_PREFIX}{j:02d}-{name}"
        rec, evs, st = build_event_patient(read_record(folder / name), reference_beats(folder / name),
                                           pid, args.first_event_s + 7 * j, args.seconds, j)
        streams.append(PatientStream(pid, rec, 0, start_us, int(args.seconds * rec.fs),
                                     chunk=round(rec.fs)))
        events += [{"patient": e.patient, "kind": e.kind, "how": e.how, "onset_s": e.onset_s,
                    "end_s": e.end_s} for e in evs]
        stops[pid] = st
    publisher = Publisher(args.bootstrap, args.topic)
    send = StoppingSender(publisher, stops)

    wall0: list[float] = []

    def clock() -> float:
        now = time.monotonic()
        if not wall0:  # replay's t0: chunk j is due at t0 + its end time on the signal clock
            wall0.append(time.time())
        return now

    # the streams' clock: sample 0 at the replay's start (metadata goes first, ~ms)
    start_us = time.time_ns() // 1000
    for s in streams:
        s.start_us = start_us
    cpu0 = time.process_time()
    stats = replay(streams, send, speed=1.0, clock=clock)
    publisher.flush()
    publisher.close()
    doc = {
        "beds": args.beds, "event_beds": n_events, "seconds": args.seconds,
        "start_us": start_us, "replay_t0_wall": wall0[0] if wall0 else None,
        "messages": stats.messages, "samples": stats.samples, "dropped_messages": send.dropped,
        "late_s_max": round(stats.late_s_max, 3), "cpu_s": round(time.process_time() - cpu0, 2),
        "events": events, "patients": [s.patient for s in streams],
        "fs": {s.patient: s.recording.fs for s in streams},
    }
    Path(args.out).write_text(json.dumps(doc))


# --------------------------------------------------------------------------- wall client

def wall_queries(page: int = 1) -> list[tuple[str, dict]]:
    """(SQL, panel) of every query of one page of the 16-bed ward wall (the committed
    dashboard's panels and its page variable), as bench/grafana_queries.py runs them."""
    from ecgdash.grafana.build import dashboard_json
    from ecgdash.grafana.config import GrafanaConfig

    d = dashboard_json("wall", GrafanaConfig())
    out: list[tuple[str, dict]] = [(v["query"], {"maxDataPoints": 100, "interval": "1ms"})
                                   for v in d["templating"]["list"]]
    for panel in d["panels"]:
        out += [(t["rawSql"], panel) for t in panel["targets"]]
    return out


def run_wall(args: argparse.Namespace) -> None:
    """Refresh page 1 of the wall every `every_s` seconds, the queries issued concurrently on
    `connections` connections as Grafana does; record each refresh's wall-clock time."""
    from ecgdash.grafana.macros import QueryContext, Variable, expand

    stop = _stopper()
    queries = wall_queries()
    var = {"page": Variable(("1",))}
    conns = [psycopg.connect(args.dsn, autocommit=True) for _ in range(args.connections)]
    pool = ThreadPoolExecutor(args.connections)
    local = threading.local()
    free = list(conns)
    lock = threading.Lock()

    def run(sql: str, ctx: QueryContext) -> int:
        if not hasattr(local, "conn"):
            with lock:
                local.conn = free.pop()
        return len(local.conn.execute(expand(sql, ctx)).fetchall())

    refreshes: list[tuple[float, float, int]] = []  # (wall start, seconds, rows)
    errors: list[str] = []
    deadline = time.time() + args.seconds
    nxt = time.time()
    while not stop.is_set() and time.time() < deadline:
        end = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=0)
        t = time.perf_counter()
        futs = [pool.submit(run, sql, QueryContext.for_panel(panel, end - timedelta(minutes=5),
                                                             end, var, args.timescaledb))
                for sql, panel in queries]
        rows = 0
        for f in futs:
            try:
                rows += f.result()
            except psycopg.Error as exc:
                errors.append(str(exc).splitlines()[0])
        refreshes.append((time.time(), time.perf_counter() - t, rows))
        nxt += args.every_s
        stop.wait(max(0.0, nxt - time.time()))
        nxt = max(nxt, time.time() - args.every_s)  # a slow refresh does not make a burst
    pool.shutdown()
    for c in conns:
        c.close()
    durs = [d for _, d, _ in refreshes]
    Path(args.out).write_text(json.dumps({
        "queries_per_refresh": len(queries), "refreshes": refreshes, "errors": errors[:20],
        "n_errors": len(errors),
        "refresh_s_p50": statistics.median(durs) if durs else None,
    }))


# --------------------------------------------------------------------------- probe

def run_probe(args: argparse.Namespace) -> None:
    """Poll, every `every_s`, the beats of a sample of beds (newer than each one's newest seen)
    and every alarm row; record the wall time each was first seen."""
    stop = _stopper()
    patients: list[str] = json.loads(Path(args.patients_file).read_text())
    newest = {p: datetime(1970, 1, 1, tzinfo=UTC) for p in patients}
    beats: list[tuple[str, float, float]] = []  # patient, beat time (epoch s), seen (epoch s)
    alarms: dict[int, dict] = {}
    last_alarm = 0
    with psycopg.connect(args.dsn, autocommit=True) as conn:
        while not stop.is_set():
            now = time.time()
            try:
                rows = conn.execute(
                    "SELECT b.patient_id, b.time FROM beats b "
                    "JOIN unnest(%s::text[], %s::timestamptz[]) AS s (p, t) "
                    "ON b.patient_id = s.p AND b.time > s.t",
                    (list(newest), list(newest.values()))).fetchall()
                for p, t in rows:
                    beats.append((p, t.timestamp(), now))
                    newest[p] = max(newest[p], t)
                for aid, p, kind, prio, onset, raised in conn.execute(
                        "SELECT alarm_id, patient_id, kind, priority, onset, raised_at "
                        "FROM alarm_events WHERE alarm_id > %s ORDER BY alarm_id", (last_alarm,)):
                    alarms[aid] = {"patient": p, "kind": kind, "priority": prio,
                                   "onset": onset.timestamp(), "raised_at": raised.timestamp(),
                                   "seen": now}
                    last_alarm = max(last_alarm, aid)
            except psycopg.Error as exc:
                print(f"probe: {exc}", file=sys.stderr, flush=True)
            stop.wait(args.every_s)
    Path(args.out).write_text(json.dumps({"beats": beats, "alarms": list(alarms.values())}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="role", required=True)
    p = sub.add_parser("producer")
    p.add_argument("--bootstrap", required=True)
    p.add_argument("--topic", default="ecg.waveform")
    p.add_argument("--beds", type=int, required=True)
    p.add_argument("--events", type=int, default=8, help="beds with injected alarm events")
    p.add_argument("--first-event-s", type=float, default=60.0)
    p.add_argument("--seconds", type=float, required=True)
    p.add_argument("--records", default=str(SHARED_MITDB))
    p.add_argument("--out", required=True)
    w = sub.add_parser("wall")
    w.add_argument("--dsn", required=True)
    w.add_argument("--every-s", type=float, default=2.0)
    w.add_argument("--seconds", type=float, default=1e9)
    w.add_argument("--connections", type=int, default=4)
    w.add_argument("--timescaledb", action="store_true")
    w.add_argument("--out", required=True)
    q = sub.add_parser("probe")
    q.add_argument("--dsn", required=True)
    q.add_argument("--patients-file", required=True)
    q.add_argument("--every-s", type=float, default=0.5)
    q.add_argument("--out", required=True)
    args = ap.parse_args()
    {"producer": run_producer, "wall": run_wall, "probe": run_probe}[args.role](args)


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
