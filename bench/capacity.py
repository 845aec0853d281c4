"""Capacity: how many beds one machine keeps up with, every part of the pipeline running at once.

For each bed count, on fresh local services (Tansu, native PostgreSQL or the embedded
TimescaleDB), at speed 1: the producer (``bench/capacity_parts.py producer``: the shared MIT-BIH
records, 8 beds with injected alarm events), the Spark jobs as the CLI runs them (``--runner
pipeline``: ``ecgdash spark pipeline``, one session hosting the raw writer and the alarm job, which
stores the beats too, or with ``--hr-job`` the heart-rate job as a third query; ``--runner
separate``: ``ecgdash spark raw-writer|alarm-job[|hr-job]``, one process each), each at its
default trigger, the policy job runner (TimescaleDB), a Grafana-like
client refreshing a 16-bed wall page every 2 s, and a probe that notes when beats and alarms
become visible. After ``--warmup-s`` it measures for ``--minutes``:

* sustained samples/s stored; *kept up*: every query's consumer lag stays under (trigger + 10 s)
  of messages in the second half of the window, the producer stays on schedule and no sample of
  the window is missing;
* sample -> stored latency (the row's insert time minus the time its chunk's last sample was
  due), beat -> visible (a sample of 32 beds, polled every 0.5 s), alarm onset -> visible for the
  injected events;
* CPU seconds (per sample too) and peak memory of every process tree; database growth per
  bed-hour, bytes per stored sample and per bed-day.

``--seed-beds`` runs the 2018 seed's design on the same services (``bench/seed_design.py``: one
Kafka message per sample, unkeyed; one row per sample keyed on time) and reports the most beds
it keeps up with and its bytes per sample. Writes JSON (``--json``) and a PNG plot (``--plot``).

    python bench/capacity.py --beds 250,500,1000,1500,2000 --minutes 5 --db postgres \\
        --seed-beds 5,10,20,40 --json bench/results/capacity.json
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import psutil
import psycopg

from ecgdash.cli.spark import parse_progress
from ecgdash.core.kafka import ensure_topics
from ecgdash.core.kafka.clients import admin, consumer
from ecgdash.core.kafka.topics import high_watermarks
from ecgdash.devstack.broker import start_broker
from ecgdash.devstack.manager import wait_db
from ecgdash.devstack.procs import LOCALHOST, free_port, stop_pid
from ecgdash.settings import Settings
from ecgdash.timescale.admissions import admit
from ecgdash.timescale.migrate import migrate

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
ECGDASH = str(Path(PY).with_name("ecgdash"))
TOPIC, DLQ = "ecg.waveform", "ecg.waveform.dlq"
SAMPLES_PER_BED_S = 720  # 2 leads x 360 Hz


def queries(args: argparse.Namespace) -> dict[str, float]:
    """The streaming queries of the run and their triggers (s, the defaults): the raw writer and
    the alarm job (which stores the beats, the pipeline's default), plus the heart-rate job with
    ``--hr-job``."""
    q = {"raw_writer": 2.0, "alarm_job": 2.0}
    if args.hr_job:
        q["hr_job"] = args.hr_trigger_s
    return q


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


# --------------------------------------------------------------------------- services

@dataclass
class Services:
    tmp: Path
    mode: str
    bootstrap: str
    admin: str = field(repr=False)
    writer: str = field(repr=False)
    reader: str = field(repr=False)
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)


def start_services(tmp: Path, mode: str, partitions: int) -> Services:
    bport, dport = free_port(), free_port()
    broker = start_broker(bport, tmp / "broker.log")
    pw = secrets.token_hex(8)
    base = f"@{LOCALHOST}:{dport}/postgres?sslmode=disable"
    if mode == "postgres":
        from ecgdash.devstack.postgres import init_cluster, start_postgres

        init_cluster(tmp / "pg", pw)
        db = start_postgres(tmp / "pg", dport, tmp / "db.log")
    else:
        from ecgdash.devstack.pglite import start_pglite

        db = start_pglite(tmp / "pglite", dport, tmp / "db.log")
    svc = Services(tmp, mode, f"{LOCALHOST}:{bport}", f"postgresql://postgres:{pw}{base}",
                   f"postgresql://ecg_writer:{pw}{base}", f"postgresql://ecg_reader:{pw}{base}",
                   {"broker": broker, "db": db})
    wait_db(svc.admin)
    migrate(svc.admin, writer_password=pw, reader_password=pw)
    ensure_topics(svc.bootstrap, {TOPIC: partitions, DLQ: 1})
    return svc


def stop_services(svc: Services) -> None:
    for name in reversed(list(svc.procs)):
        p = svc.procs[name]
        if p.poll() is None:
            stop_pid(p.pid, timeout_s=60)


def start_cluster(svc: Services, workers: int, cores: int, memory: str) -> str:
    """A Spark standalone cluster on this machine from pyspark's own launcher (``bin/spark-class``:
    one master, ``workers`` workers of ``cores`` cores each), everything on 127.0.0.1; returns
    the master URL once every worker has registered."""
    import pyspark

    home = Path(pyspark.__file__).parent
    env = {**os.environ, "SPARK_HOME": str(home), "SPARK_LOCAL_IP": LOCALHOST,
           "SPARK_NO_DAEMONIZE": "1", "PYSPARK_PYTHON": PY}
    port, ui = free_port(), free_port()
    cls = str(home / "bin" / "spark-class")
    spawn(svc, "spark_master", [cls, "org.apache.spark.deploy.master.Master", "--host", LOCALHOST,
                                "--port", str(port), "--webui-port", str(ui)], env)
    url = f"spark://{LOCALHOST}:{port}"
    for i in range(workers):
        spawn(svc, f"spark_worker{i + 1}", [
            cls, "org.apache.spark.deploy.worker.Worker", url, "--host", LOCALHOST,
            "--cores", str(cores), "--memory", memory, "--webui-port", str(free_port()),
            "--work-dir", str(svc.tmp / f"spark-work{i + 1}")], env)
    deadline = time.time() + 120
    while time.time() < deadline:  # the master's log names every worker it registered
        log = (svc.tmp / "spark_master.log").read_text(errors="replace") \
            if (svc.tmp / "spark_master.log").exists() else ""
        if log.count("Registering worker") >= workers:
            return url
        time.sleep(1)
    raise RuntimeError(f"standalone cluster not up after 120 s (see {svc.tmp}/spark_master.log)")


def job_env(svc: Services, extra: dict[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "ECG_DB_MODE": "external", "ECG_KAFKA_BOOTSTRAP": svc.bootstrap,
        "ECG_DB_ADMIN_DSN": svc.admin, "ECG_DB_WRITER_DSN": svc.writer,
        "ECG_DB_READER_DSN": svc.reader, "ECG_HOME": str(svc.tmp / "home"),
        "ECG_CHECKPOINT_DIR": str(svc.tmp / "checkpoints"),
        # a busy machine can take longer than Spark's 15 s for a Python worker to connect back
        "PYSPARK_SUBMIT_ARGS": "--conf spark.python.authenticate.socketTimeout=120s pyspark-shell",
    })
    env.update(extra)
    return env


def spawn(svc: Services, name: str, argv: list[str], env: dict[str, str] | None = None
          ) -> subprocess.Popen:
    log = open(svc.tmp / f"{name}.log", "ab")  # noqa: SIM115 - the child holds it
    p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT,
                         start_new_session=True)
    svc.procs[name] = p
    return p


# --------------------------------------------------------------------------- measurement

class ResourceSampler(threading.Thread):
    """CPU seconds and resident memory of each named process tree, every second."""

    def __init__(self, procs: dict[str, subprocess.Popen]) -> None:
        super().__init__(daemon=True)
        self.procs = procs
        self.stop = threading.Event()
        self.cpu: dict[str, float] = {}
        self.by_kind: dict[str, dict[str, float]] = {}  # part -> process kind -> CPU s
        self.peak_rss: dict[str, int] = {}
        self.marks: dict[str, tuple[dict[str, float], dict[str, dict[str, float]]]] = {}
        self._known: dict[int, tuple[str, str, float]] = {}  # pid -> part, kind, last CPU s
        self._lock = threading.Lock()

    @staticmethod
    def _kind(p: psutil.Process) -> str:
        try:
            name = p.name()
            cmd = " ".join(p.cmdline()[:3])
        except psutil.Error:
            return "?"
        if name == "java":
            return "jvm"
        if "pyspark.daemon" in cmd or "pyspark/daemon" in cmd or "pyspark.worker" in cmd:
            return "python_workers"
        if name.startswith("python"):
            return "python_driver" if "ecgdash" in cmd or "capacity_parts" in cmd or \
                "seed_design" in cmd or "timescale.jobs" in cmd else "python"
        return name

    def sample(self) -> None:
        with self._lock:
            for part, root in list(self.procs.items()):
                try:
                    rp = psutil.Process(root.pid)
                    tree = [rp, *rp.children(recursive=True)]
                except psutil.Error:
                    continue
                rss = 0
                for p in tree:
                    try:
                        t = p.cpu_times()
                        cpu = t.user + t.system
                        rss += p.memory_info().rss
                    except psutil.Error:
                        continue
                    if p.pid not in self._known or self._known[p.pid][1] in ("bash", "?"):
                        # spark-submit starts as a bash script that then execs java: look again
                        last = self._known.get(p.pid, (part, "", 0.0))[2]
                        self._known[p.pid] = (part, self._kind(p), last)
                    _, kind, last = self._known[p.pid]
                    self._known[p.pid] = (part, kind, max(cpu, last))
                self.peak_rss[part] = max(self.peak_rss.get(part, 0), rss)
            self.cpu, self.by_kind = {}, {}
            for part, kind, c in self._known.values():  # exited processes keep their last figure
                self.cpu[part] = self.cpu.get(part, 0.0) + c
                k = self.by_kind.setdefault(part, {})
                k[kind] = k.get(kind, 0.0) + c

    def mark(self, label: str) -> None:
        self.sample()
        with self._lock:
            self.marks[label] = (dict(self.cpu), {k: dict(v) for k, v in self.by_kind.items()})

    def run(self) -> None:
        while not self.stop.wait(1.0):
            self.sample()

    def between(self, a: str, b: str) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
        ca, ka = self.marks[a]
        cb, kb = self.marks[b]
        cpu = {p: round(cb.get(p, 0) - ca.get(p, 0), 2) for p in cb}
        kinds = {p: {k: round(v - ka.get(p, {}).get(k, 0), 2) for k, v in kb[p].items()} for p in kb}
        return cpu, kinds


class LagSampler(threading.Thread):
    """Consumer lag (messages) of every query, from the topic's high watermarks and the offsets
    each query commits for monitoring (its ``ecgdash.<query>`` group), every 2 s."""

    def __init__(self, bootstrap: str, groups: list[str], partitions: int) -> None:
        super().__init__(daemon=True)
        from kafka import TopicPartition

        self.bootstrap = bootstrap
        self.groups = groups
        self.tps = [TopicPartition(TOPIC, p) for p in range(partitions)]
        self.stop = threading.Event()
        self.series: list[tuple[float, int, dict[str, int]]] = []  # (wall, produced, lag per group)

    def run(self) -> None:
        c = consumer(self.bootstrap)
        a = admin(self.bootstrap)
        try:
            while not self.stop.wait(2.0):
                try:
                    hw = high_watermarks(c, self.tps)
                    total = sum(hw.values())
                    lags = {}
                    for g in self.groups:
                        got = a.list_group_offsets(g).get(g, {})
                        done = sum(got[tp].offset for tp in self.tps if tp in got and got[tp].offset >= 0)
                        lags[g] = total - done
                    self.series.append((time.time(), total, lags))
                except Exception as exc:  # noqa: BLE001 - a missed sample is not a failure
                    print(f"lag sample failed: {exc!r}", flush=True)
        finally:
            c.close()
            a.close()


def pct(xs: list[float] | np.ndarray, q: float) -> float | None:
    return round(float(np.percentile(xs, q)), 3) if len(xs) else None


# --------------------------------------------------------------------------- one run

def warm_up(svc: Services, queries: list[str], partitions: int, timeout_s: float = 400) -> float:
    """A few seconds of one bed through every query, so Spark's Python workers are up before
    the clock starts: every query has committed a batch to its ledger (``writer_batches``), the
    raw writer has counted every message of the topic there and the heart-rate job has stored
    beats of the bed (the monitoring groups are not used here: a source publishes a batch's
    offsets only when the next batch starts); returns seconds waited."""
    from kafka import TopicPartition

    from ecgdash.ingest.run import run_ingest
    from ecgdash.ingest.sample_records import mitdb

    t = time.time()
    run_ingest(str(mitdb()), svc.bootstrap, TOPIC, records=["101"], seconds=5, speed=None,
               mapping={"101": "warmup"}, show_progress=False,
               start_us=time.time_ns() // 1000 - 3_600_000_000)
    tps = [TopicPartition(TOPIC, p) for p in range(partitions)]
    c = consumer(svc.bootstrap)
    try:
        total = sum(high_watermarks(c, tps).values())
    finally:
        c.close()
    with psycopg.connect(svc.reader, autocommit=True) as conn:
        while time.time() - t < timeout_s:
            done = dict(conn.execute("SELECT query_name, sum(messages) FROM writer_batches "
                                     "GROUP BY query_name").fetchall())
            beats = conn.execute("SELECT count(*) FROM beats WHERE patient_id = 'warmup'").fetchone()[0]
            if set(queries) <= set(done) and done["raw_writer"] >= total and beats > 0:
                return time.time() - t
            for name, p in svc.procs.items():
                if p.poll() is not None:
                    raise RuntimeError(f"{name} exited with {p.returncode}: see {svc.tmp / name}.log")
            time.sleep(1)
    raise RuntimeError(f"jobs not ready after {timeout_s:.0f} s (see logs in {svc.tmp})")


def db_sizes(conn: psycopg.Connection, mode: str) -> dict[str, int]:
    db = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
    wf = conn.execute("SELECT hypertable_size('waveform')" if mode == "timescale"
                      else "SELECT pg_total_relation_size('waveform')").fetchone()[0]
    n = conn.execute("SELECT coalesce(sum(cardinality(samples)), 0) FROM waveform").fetchone()[0]
    return {"database_bytes": int(db), "waveform_bytes": int(wf or 0), "waveform_samples": int(n)}


_STORED = """
SELECT extract(epoch FROM w.ingested_at)
       - (extract(epoch FROM w.time) + cardinality(w.samples) / p.fs) AS lat,
       cardinality(w.samples) AS n
FROM waveform w JOIN patients p USING (patient_id)
WHERE w.signal_index = 0 AND w.time >= to_timestamp(%s) AND w.time < to_timestamp(%s)
  AND p.patient_id <> 'warmup'"""


def run_design(args: argparse.Namespace, beds: int, tmp: Path) -> dict:
    """One bed count through every part; returns its figures."""
    svc = start_services(tmp, args.db, args.partitions)
    load0 = load_average()
    sampler = lag = None
    try:
        master = args.spark_master
        extra_conf = ""
        if args.cluster_workers:
            master = start_cluster(svc, args.cluster_workers, args.worker_cores, "3g")
            extra_conf = (f" --conf spark.executor.cores={args.worker_cores}"
                          f" --conf spark.cores.max={args.cluster_workers * args.worker_cores}"
                          " --conf spark.executor.memory=2g")
        env = job_env(svc, {"ECG_PARTITIONS": str(args.partitions),
                            "ECG_SPARK_SHUFFLE_PARTITIONS": str(args.shuffle_partitions),
                            "ECG_HR_TRIGGER_S": str(args.hr_trigger_s),
                            "ECG_ALARM_WRITES_BEATS": "false" if args.hr_job else "true",
                            "ECG_LOG_LEVEL": "INFO", "ECG_PROGRESS_INTERVAL_S": "10",
                            "ECG_SPARK_STATE_STORE": args.state_store,
                            **({"ECG_SPARK_MASTER": master} if master else {}),
                            **({"ECG_ALARM_GROUPS": str(args.alarm_groups)}
                               if args.alarm_groups else {})})
        if extra_conf:
            env["PYSPARK_SUBMIT_ARGS"] = env["PYSPARK_SUBMIT_ARGS"].replace(
                " pyspark-shell", extra_conf + " pyspark-shell")
        if args.runner == "pipeline":
            spawn(svc, "pipeline", [ECGDASH, "spark", "pipeline"], env)
        else:
            for q in queries(args):
                job = q.replace("_", "-")
                spawn(svc, job, [ECGDASH, "spark", job], env)
        if args.db == "timescale":
            spawn(svc, "policy_runner", [PY, "-m", "ecgdash.timescale.jobs"],
                  {**os.environ, "ECG_JOBS_DSN": svc.admin})
        sampler = ResourceSampler(svc.procs)
        sampler.start()
        ready_s = warm_up(svc, list(queries(args)), args.partitions)
        print(f"[{beds} beds] jobs ready after {ready_s:.0f} s; load {load_average()}", flush=True)
        # admit every bed (the wall pages through them); page 1 shows the first 16
        total_s = args.warmup_s + args.minutes * 60
        prod_out = tmp / "producer.json"
        spawn(svc, "producer", [PY, str(ROOT / "bench" / "capacity_parts.py"), "producer",
                                "--bootstrap", svc.bootstrap, "--beds", str(beds),
                                "--seconds", str(total_s), "--events", str(args.event_beds),
                                "--first-event-s", str(args.warmup_s),
                                "--records", str(args.records), "--out", str(prod_out)])
        t_start = time.time()
        patients = _patients(args.records, beds, args.event_beds)
        with psycopg.connect(svc.admin, autocommit=True) as conn:
            for k, pid in enumerate(patients):
                admit(conn, f"B{k + 1:04d}", pid)
        sample = [p for p in patients if p.startswith("ev")] + \
            [p for p in patients if not p.startswith("ev")][: args.probe_beds]
        (tmp / "probe_patients.json").write_text(json.dumps(sample))
        spawn(svc, "wall", [PY, str(ROOT / "bench" / "capacity_parts.py"), "wall",
                            "--dsn", svc.reader, "--out", str(tmp / "wall.json"),
                            *(["--timescaledb"] if args.db == "timescale" else [])])
        spawn(svc, "probe", [PY, str(ROOT / "bench" / "capacity_parts.py"), "probe",
                             "--dsn", svc.reader, "--patients-file", str(tmp / "probe_patients.json"),
                             "--out", str(tmp / "probe.json")])
        lag = LagSampler(svc.bootstrap, [f"ecgdash.{q}" for q in queries(args)], args.partitions)
        lag.start()
        t0 = t_start + args.warmup_s
        t1 = t0 + args.minutes * 60
        time.sleep(max(0.0, t0 - time.time()))
        sampler.mark("t0")
        with psycopg.connect(svc.admin, autocommit=True) as conn:
            size0 = db_sizes(conn, args.db)
        load_mid = load_average()
        profile = None
        if args.py_spy_s:
            profile = _py_spy(svc, args.py_spy_s, args.json.parent, beds)
        time.sleep(max(0.0, t1 - time.time()))
        sampler.mark("t1")
        load1 = load_average()
        with psycopg.connect(svc.admin, autocommit=True) as conn:
            size1 = db_sizes(conn, args.db)
        svc.procs["producer"].wait(timeout=120)
        # let the last batches of the window land (the longest trigger)
        time.sleep(min(max(queries(args).values()), 60) + 15)
        for name in ("probe", "wall"):
            svc.procs[name].send_signal(signal.SIGTERM)
            svc.procs[name].wait(timeout=60)
        lag.stop.set()
        prod = json.loads(prod_out.read_text())
        skew = prod["replay_t0_wall"] - prod["start_us"] / 1e6
        with psycopg.connect(svc.admin, autocommit=True) as conn:
            stored = conn.execute(_STORED, (t0 - skew, t1 - skew)).fetchall()
            compressed = _compress(conn) if args.db == "timescale" and args.compress else None
        lat = np.array([r[0] for r in stored]) - skew
        samples = 2 * sum(r[1] for r in stored)
        expected_chunks = (beds - args.event_beds) * (t1 - t0)
        probe = json.loads((tmp / "probe.json").read_text())
        beat_lat = [seen - bt - skew for _, bt, seen in probe["beats"] if t0 - skew <= bt < t1 - skew]
        cpu, kinds = sampler.between("t0", "t1")
        run = {
            "beds": beds, "runner": args.runner, "db": args.db, "window_s": round(t1 - t0, 1),
            "queries": queries(args), "state_store": args.state_store, "spark": (
                f"standalone {args.cluster_workers} x {args.worker_cores} cores"
                if args.cluster_workers else args.spark_master or "local[2]"),
            "samples_per_s": round(samples / (t1 - t0)),
            "samples_per_s_offered": beds * SAMPLES_PER_BED_S,
            "chunks_stored_in_window": len(stored),
            "chunks_expected_in_window_min": int(expected_chunks),
            "stored_p50_s": pct(lat, 50), "stored_p95_s": pct(lat, 95),
            "stored_max_s": round(float(lat.max()), 3) if lat.size else None,
            "beat_visible_p50_s": pct(beat_lat, 50), "beat_visible_p95_s": pct(beat_lat, 95),
            "beat_visible_max_s": round(max(beat_lat), 3) if beat_lat else None,
            "beats_probed": len(beat_lat),
            "alarms": _alarm_latency(prod, probe, t0, t1, skew),
            "lag": _lag_summary(lag.series, t0, t1, beds, args),
            "producer": {k: prod[k] for k in ("messages", "samples", "late_s_max", "cpu_s",
                                              "dropped_messages")},
            "cpu_s": cpu, "cpu_s_by_process_kind": kinds,
            "cpu_s_total": round(sum(cpu.values()), 1),
            "cpu_cores_used": round(sum(cpu.values()) / (t1 - t0), 2),
            "cpu_us_per_sample": {p: round(c / max(samples, 1) * 1e6, 3) for p, c in cpu.items()},
            "peak_rss_mb": {p: round(v / 2**20) for p, v in sampler.peak_rss.items()},
            "storage": _storage(size0, size1, beds, t1 - t0, compressed),
            "wall": _wall_summary(tmp / "wall.json", t0, t1),
            "batches": _batch_summary(tmp, t0, t1),
            "ready_s": round(ready_s, 1), "profile": profile,
            "load_avg": {"start": load0, "window_start": load_mid, "window_end": load1},
        }
        run["kept_up"] = bool(
            run["lag"]["bounded"] and prod["late_s_max"] < 2.0
            and len(stored) >= expected_chunks * 0.999 and lat.size and lat.max() < 60)
        return run
    finally:
        if sampler is not None:
            sampler.stop.set()
        if lag is not None:
            lag.stop.set()
        stop_services(svc)


def _patients(records: Path, beds: int, events: int) -> list[str]:
    """The producer's patient ids (same planning as capacity_parts.run_producer)."""
    names = sorted(p.stem for p in Path(records).glob("*.atr"))
    out = []
    for k in range(beds - min(events, beds)):
        rec, copy = names[k % len(names)], k // len(names)
        out.append(f"p{rec}" if copy == 0 else f"p{rec}.{copy}")
    ev = ("112", "115", "116", "122", "220", "230", "118", "101")
    out += [f"ev{j:02d}-{ev[j % len(ev)]}" for j in range(min(events, beds))]
    return out


def _py_spy(svc: Services, seconds: float, out_dir: Path, beds: int) -> dict[str, str]:
    """py-spy on every Spark job's process tree (Python frames only: the JVM is apart), raw
    (collapsed) stacks kept next to the JSON."""
    pyspy = str(Path(PY).with_name("py-spy"))
    out = {}
    procs = []
    for name in ("pipeline", "raw-writer", "hr-job", "alarm-job"):
        if name in svc.procs:
            f = out_dir / f"pyspy-{beds}-{name}.txt"
            procs.append(subprocess.Popen(
                [pyspy, "record", "--pid", str(svc.procs[name].pid), "--subprocesses",
                 "--rate", "50", "--duration", str(int(seconds)), "--format", "raw",
                 "--nonblocking", "-o", str(f)], stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL))
            out[name] = str(f)
    for p in procs:
        p.wait()
    return out


def _alarm_latency(prod: dict, probe: dict, t0: float, t1: float, skew: float) -> dict:
    start = prod["start_us"] / 1e6
    out: dict[str, dict] = {}
    for ev in prod["events"]:
        onset_wall = start + skew + ev["onset_s"]
        if not t0 <= onset_wall < t1:
            continue
        cands = [a["seen"] for a in probe["alarms"] if a["patient"] == ev["patient"]
                 and a["kind"] == ev["kind"]
                 and ev["onset_s"] - 2 <= a["onset"] - start <= ev["end_s"] + 2]
        k = out.setdefault(ev["kind"], {"injected": 0, "detected": 0, "lat": []})
        k["injected"] += 1
        if cands:
            k["detected"] += 1
            k["lat"].append(min(cands) - onset_wall)
    for k in out.values():
        lat = k.pop("lat")
        k.update(p50_s=pct(lat, 50), p95_s=pct(lat, 95),
                 max_s=round(max(lat), 2) if lat else None)
    arr = [a for a in probe["alarms"] if not a["patient"].startswith(("ev", "warmup"))
           and t0 <= a["raised_at"] < t1]
    out["other_beds_alarms_raised"] = {"n": len(arr), "by_kind": {
        kd: sum(1 for a in arr if a["kind"] == kd) for kd in sorted({a["kind"] for a in arr})}}
    return out


def _lag_summary(series: list, t0: float, t1: float, beds: int, args: argparse.Namespace) -> dict:
    out: dict = {"bounded": True}
    mid = (t0 + t1) / 2
    for q, trig in queries(args).items():
        g = f"ecgdash.{q}"
        pts = [(t, lags[g]) for t, _, lags in series if t0 <= t <= t1 and g in lags]
        late = [v for t, v in pts if t >= mid]
        bound = beds * (trig + 10)
        worst = max(late) if late else None
        ok = worst is not None and worst <= bound
        out[q] = {"max_msgs_2nd_half": worst, "bound_msgs": bound, "end_msgs": pts[-1][1] if pts else None,
                  "max_s_2nd_half": round(worst / beds, 1) if worst is not None else None, "ok": ok}
        out["bounded"] = out["bounded"] and ok
    return out


def _storage(s0: dict, s1: dict, beds: int, secs: float, compressed: dict | None) -> dict:
    grow = s1["database_bytes"] - s0["database_bytes"]
    per_sample = s1["waveform_bytes"] / max(s1["waveform_samples"], 1)
    out = {
        "database_growth_bytes_per_bed_hour": round(grow / beds / (secs / 3600)),
        "database_growth_gb_per_bed_day": round(grow / beds / (secs / 86400) / 1e9, 3),
        "waveform_bytes_per_sample": round(per_sample, 3),
        "waveform_bytes_per_bed_day": round(per_sample * SAMPLES_PER_BED_S * 86400),
        "sizes_window_start": s0, "sizes_window_end": s1,
    }
    if compressed:
        out["compressed"] = compressed
        out["compressed_waveform_bytes_per_bed_day"] = round(
            compressed["bytes_per_sample"] * SAMPLES_PER_BED_S * 86400)
    return out


def _compress(conn: psycopg.Connection) -> dict:
    t = time.perf_counter()
    conn.execute("SELECT compress_chunk(c, if_not_compressed => true) FROM show_chunks('waveform') c")
    size = conn.execute("SELECT hypertable_size('waveform')").fetchone()[0]
    n = conn.execute("SELECT sum(cardinality(samples)) FROM waveform").fetchone()[0]
    return {"bytes": int(size), "samples": int(n), "bytes_per_sample": round(size / n, 3),
            "compress_s": round(time.perf_counter() - t, 1)}


def _batch_summary(tmp: Path, t0: float, t1: float) -> dict:
    """Each query's micro-batches in the window, from the jobs' progress lines (``ECG_LOG_LEVEL=
    INFO``: ``<time> INFO ecgdash.spark.progress: progress <job> {json}`` every 10 s)."""
    per: dict[str, list[dict]] = {}
    for log in tmp.glob("*.log"):
        for line in log.read_text(errors="replace").splitlines():
            try:
                found = parse_progress(line)
                if found is None:
                    continue
                at = datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp()
            except ValueError:
                continue
            job, item = found
            if t0 < at <= t1 + 10:
                per.setdefault(job, []).append(item)
    return {job: {"batches": sum(i["batches"] for i in items),
                  "trigger_ms_p50": int(np.median([i["trigger_ms_p50"] for i in items])),
                  "trigger_ms_max": max(i["trigger_ms_max"] for i in items),
                  "add_batch_ms_p50": int(np.median([i["add_batch_ms_p50"] for i in items])),
                  "input_rows": sum(i["input_rows"] for i in items)}
            for job, items in per.items()}


def _wall_summary(path: Path, t0: float, t1: float) -> dict:
    doc = json.loads(path.read_text())
    durs = [d for t, d, _ in doc["refreshes"] if t0 <= t <= t1]
    return {"queries_per_refresh": doc["queries_per_refresh"], "refreshes": len(durs),
            "refresh_s_p50": pct(durs, 50), "refresh_s_p95": pct(durs, 95),
            "errors": doc["n_errors"], "first_errors": doc["errors"][:3]}


# --------------------------------------------------------------------------- seed design

def run_seed(args: argparse.Namespace, beds: int, tmp: Path) -> dict:
    """The seed's design at `beds` beds: see bench/seed_design.py."""
    svc = start_services(tmp, args.db, args.partitions)
    load0 = load_average()
    sampler = lag = None
    try:
        with psycopg.connect(svc.admin, autocommit=True) as conn:
            from seed_design import create_table

            create_table(conn)
        env = job_env(svc, {})
        seed = str(ROOT / "bench" / "seed_design.py")
        spawn(svc, "seed_writer", [PY, seed, "writer", "--bootstrap", svc.bootstrap,
                                   "--dsn", svc.admin, "--checkpoint", str(tmp / "ck-seed"),
                                   "--out", str(tmp / "seed_writer.json")], env)
        sampler = ResourceSampler(svc.procs)
        sampler.start()
        _seed_ready(svc, seed, tmp)
        total_s = args.warmup_s + args.seed_minutes * 60
        spawn(svc, "seed_producer", [PY, seed, "producer", "--bootstrap", svc.bootstrap,
                                     "--beds", str(beds), "--seconds", str(total_s),
                                     "--records", str(args.records),
                                     "--out", str(tmp / "seed_producer.json")])
        lag = LagSampler(svc.bootstrap, ["ecgdash.seed_writer"], args.partitions)
        lag.start()
        t0 = time.time() + args.warmup_s
        t1 = t0 + args.seed_minutes * 60
        time.sleep(max(0.0, t0 - time.time()))
        sampler.mark("t0")
        time.sleep(max(0.0, t1 - time.time()))
        sampler.mark("t1")
        load1 = load_average()
        prod = None
        try:
            svc.procs["seed_producer"].wait(timeout=300)
            prod = json.loads((tmp / "seed_producer.json").read_text())
        except (subprocess.TimeoutExpired, FileNotFoundError):
            svc.procs["seed_producer"].kill()
        lag.stop.set()
        pts = [(t, lags["ecgdash.seed_writer"]) for t, _, lags in lag.series if t0 <= t <= t1]
        produced = [(t, p) for t, p, _ in lag.series if t0 <= t <= t1]
        mid = (t0 + t1) / 2
        late = [v for t, v in pts if t >= mid]
        rate = (produced[-1][1] - produced[0][1]) / (produced[-1][0] - produced[0][0]) \
            if len(produced) > 1 else 0.0
        with psycopg.connect(svc.admin, autocommit=True) as conn:
            from seed_design import storage

            st = storage(conn)
        cpu, kinds = sampler.between("t0", "t1")
        offered = beds * 360  # messages/s: one per sample instant (both leads in it)
        kept = bool(late and max(late) <= offered * 12 and rate >= 0.95 * offered
                    and prod is not None and prod["late_s_max"] < 2.0)
        return {
            "beds": beds, "kept_up": kept, "messages_per_s_offered": offered,
            "messages_per_s_produced": round(rate), "lag_max_msgs_2nd_half": max(late) if late else None,
            "lag_max_s_2nd_half": round(max(late) / offered, 1) if late else None,
            "producer": prod and {k: prod[k] for k in ("messages", "late_s_max", "cpu_s")},
            "cpu_s": cpu, "cpu_s_by_process_kind": kinds,
            "cpu_cores_used": round(sum(cpu.values()) / (t1 - t0), 2),
            "peak_rss_mb": {p: round(v / 2**20) for p, v in sampler.peak_rss.items()},
            "storage": st, "load_avg": {"start": load0, "window_end": load1},
        }
    finally:
        if sampler is not None:
            sampler.stop.set()
        if lag is not None:
            lag.stop.set()
        stop_services(svc)


def _seed_ready(svc: Services, seed: str, tmp: Path, timeout_s: float = 300) -> None:
    subprocess.run([PY, seed, "producer", "--bootstrap", svc.bootstrap, "--beds", "1",
                    "--seconds", "2", "--records", str(ROOT / "ingest" / "sample_records" / "mitdb"),
                    "--out", str(tmp / "seed_warmup.json"), "--patient-prefix", "warmup"],
                   check=True, cwd=ROOT)
    t = time.time()
    with psycopg.connect(svc.admin, autocommit=True) as conn:
        while time.time() - t < timeout_s:
            if conn.execute("SELECT count(*) FROM seed_waveform").fetchone()[0] > 0:
                return
            if svc.procs["seed_writer"].poll() is not None:
                raise RuntimeError(f"seed writer exited: see {tmp}/seed_writer.log")
            time.sleep(1)
    raise RuntimeError("seed writer not ready")


# --------------------------------------------------------------------------- report

def plot(doc: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = sorted(doc["runs"], key=lambda r: r["beds"])
    beds = [r["beds"] for r in runs]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.2))
    for key, label in (("stored_p95_s", "sample -> stored p95"),
                       ("beat_visible_p95_s", "beat -> visible p95")):
        a1.plot(beds, [r[key] for r in runs], "o-", label=label)
    alarm = [max([v.get("p95_s") or 0 for k, v in r["alarms"].items()
                  if k in ("asystole", "tachycardia", "bradycardia")] or [0]) for r in runs]
    a1.plot(beds, alarm, "s--", label="alarm onset -> visible p95 (worst kind)")
    a1.axhline(3, color="grey", lw=0.8, ls=":")
    a1.axhline(10, color="grey", lw=0.8, ls=":")
    for r in runs:
        if not r["kept_up"]:
            a1.annotate("behind", (r["beds"], r["stored_p95_s"] or 0), fontsize=8, color="red")
    a1.set_xlabel("beds (2 leads x 360 Hz, speed 1)")
    a1.set_ylabel("seconds")
    a1.set_yscale("log")
    a1.legend(fontsize=8)
    a1.set_title(f"latency ({doc['db']}, {doc['runner']})")
    parts = sorted({p for r in runs for p in r["cpu_s"]})
    bottom = np.zeros(len(runs))
    for p in parts:
        v = np.array([r["cpu_s"].get(p, 0) / r["window_s"] for r in runs])
        a2.bar([str(b) for b in beds], v, bottom=bottom, label=p)
        bottom += v
    a2.axhline(os.cpu_count() or 2, color="red", lw=0.8, ls=":", label="cores")
    a2.set_xlabel("beds")
    a2.set_ylabel("CPU cores used")
    a2.legend(fontsize=7, ncol=2)
    seed = doc.get("seed_design")
    if seed:
        a2.set_title(f"CPU by process (seed design: {seed.get('max_beds')} beds max)")
    else:
        a2.set_title("CPU by process")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--beds", default="250,500,1000,1500,2000")
    ap.add_argument("--minutes", type=float, default=5.0, help="measured window per bed count")
    ap.add_argument("--warmup-s", type=float, default=60.0)
    ap.add_argument("--db", choices=("postgres", "timescale"), default="postgres")
    ap.add_argument("--runner", choices=("pipeline", "separate"), default="pipeline")
    ap.add_argument("--partitions", type=int, default=4)
    ap.add_argument("--shuffle-partitions", type=int, default=4)
    ap.add_argument("--spark-master", default=None, help="e.g. spark://127.0.0.1:7077")
    ap.add_argument("--cluster-workers", type=int, default=0,
                    help="start a Spark standalone cluster here (master + N workers, pyspark's "
                    "spark-class) and run the jobs on it instead of local[2]")
    ap.add_argument("--worker-cores", type=int, default=1, help="cores per standalone worker")
    ap.add_argument("--state-store", choices=("hdfs", "rocksdb"), default="hdfs",
                    help="ECG_SPARK_STATE_STORE of the jobs")
    ap.add_argument("--alarm-groups", type=int, default=None,
                    help="ECG_ALARM_GROUPS of the alarm job (default: the setting's default)")
    ap.add_argument("--hr-job", action="store_true",
                    help="run the heart-rate job for the beats (ECG_ALARM_WRITES_BEATS=false), "
                    "as the design before issue 14's merge did")
    ap.add_argument("--hr-trigger-s", type=float, default=60.0, help="with --hr-job")
    ap.add_argument("--event-beds", type=int, default=8)
    ap.add_argument("--probe-beds", type=int, default=24)
    ap.add_argument("--records", type=Path, default=Path("/work/shared/data/mitdb"))
    ap.add_argument("--seed-beds", default="", help="bed counts for the seed's design")
    ap.add_argument("--seed-minutes", type=float, default=2.0)
    ap.add_argument("--compress", action="store_true", help="timescale: compress and measure")
    ap.add_argument("--py-spy-s", type=float, default=0, help="profile the jobs this long")
    ap.add_argument("--stop-after-behind", action="store_true",
                    help="skip larger bed counts once one did not keep up")
    ap.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "capacity.json")
    ap.add_argument("--plot", type=Path, default=None, help="PNG (default: next to the JSON)")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT / "bench"))
    doc: dict = {
        "command": " ".join(["python", "bench/capacity.py", *sys.argv[1:]]),
        "db": args.db, "runner": args.runner, "cores": os.cpu_count(),
        "partitions": args.partitions, "queries": queries(args),
        "alarm_groups": args.alarm_groups or Settings.model_fields["alarm_groups"].default,
        "load_avg_start": load_average(), "runs": [],
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)

    def save() -> None:
        doc["load_avg_end"] = load_average()
        args.json.write_text(json.dumps(doc, indent=1))

    for beds in [int(b) for b in args.beds.split(",") if b]:
        t = tempfile.mkdtemp(prefix=f"capacity-{beds}-")
        try:
            run = run_design(args, beds, Path(t))
            shutil.rmtree(t, ignore_errors=True)
        except Exception as exc:  # noqa: BLE001 - record it and go on with the next size
            print(f"[{beds} beds] failed: {exc!r}; logs kept in {t}", flush=True)
            run = {"beds": beds, "kept_up": False, "error": repr(exc), "logs": t}
        doc["runs"].append(run)
        save()
        print(json.dumps({k: run.get(k) for k in (
            "beds", "kept_up", "samples_per_s", "stored_p50_s", "stored_p95_s",
            "beat_visible_p95_s", "cpu_cores_used", "load_avg")}), flush=True)
        if args.stop_after_behind and not run["kept_up"]:
            break
    seed_runs = []
    for beds in [int(b) for b in args.seed_beds.split(",") if b]:
        t = tempfile.mkdtemp(prefix=f"capacity-seed-{beds}-")
        try:
            run = run_seed(args, beds, Path(t))
            shutil.rmtree(t, ignore_errors=True)
        except Exception as exc:  # noqa: BLE001
            print(f"[seed {beds} beds] failed: {exc!r}; logs kept in {t}", flush=True)
            run = {"beds": beds, "kept_up": False, "error": repr(exc), "logs": t}
        seed_runs.append(run)
        print(json.dumps({k: run.get(k) for k in ("beds", "kept_up", "messages_per_s_produced",
                                                   "lag_max_s_2nd_half", "cpu_cores_used")}),
              flush=True)
        kept = [r["beds"] for r in seed_runs if r["kept_up"]]
        doc["seed_design"] = {"max_beds": max(kept) if kept else 0, "runs": seed_runs}
        save()
    kept = [r["beds"] for r in doc["runs"] if r.get("kept_up")]
    doc["max_beds_kept_up"] = max(kept) if kept else 0
    save()
    ok_runs = [r for r in doc["runs"] if "error" not in r]
    if ok_runs:
        png = args.plot or args.json.with_suffix(".png")
        plot({**doc, "runs": ok_runs}, png)
        print(f"wrote {args.json} and {png}")


if __name__ == "__main__":
    main()
