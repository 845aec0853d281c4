"""How soon a beat's heart-rate row is visible in the database, replaying in real time.

Starts a broker and a database, runs the raw writer and the heart-rate job (trigger
``--trigger-s``, default 5 s) in one Spark session, replays ``--patients`` patients at speed 1
for ``--seconds``, and polls the beats table: a beat's latency is the wall time it was first
seen minus its R-peak time on the signal clock (= wall clock at speed 1). Target: every beat
visible within the trigger interval + 5 s. Prints figures and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import secrets
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import psycopg

from ecgdash.core.kafka import ensure_topics
from ecgdash.devstack.broker import start_broker
from ecgdash.devstack.manager import wait_db
from ecgdash.devstack.postgres import init_cluster, start_postgres
from ecgdash.devstack.procs import free_port, stop_pid
from ecgdash.ingest.run import run_ingest
from ecgdash.ingest.sample_records import mitdb
from ecgdash.spark_jobs.hr_job import start_hr_job
from ecgdash.spark_jobs.raw_writer import start_raw_writer
from ecgdash.spark_jobs.session import make_spark
from ecgdash.timescale.migrate import migrate

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=90.0, help="signal replayed per patient")
    ap.add_argument("--trigger-s", type=float, default=5.0, help="heart-rate job trigger")
    ap.add_argument("--json", default=str(ROOT / "bench" / "results" / "hr_latency.json"))
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="hr-latency-"))
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
        spark = make_spark()
        raw, raw_w = start_raw_writer(spark, bootstrap=bootstrap, topic="ecg.waveform",
                                      dlq_topic="ecg.waveform.dlq", writer_dsn=writer,
                                      checkpoint=tmp / "ck-raw", trigger_s=2.0)
        hr, hr_w = start_hr_job(spark, bootstrap=bootstrap, topic="ecg.waveform",
                                writer_dsn=writer, checkpoint=tmp / "ck-hr",
                                trigger_s=args.trigger_s)
        raw.processAllAvailable()
        hr.processAllAvailable()
        seen: dict[tuple[str, datetime], float] = {}
        stop = threading.Event()

        def poll() -> None:
            with psycopg.connect(reader, autocommit=True) as conn:
                while not stop.is_set():
                    now = time.time()
                    for pid, t in conn.execute("SELECT patient_id, time FROM beats").fetchall():
                        seen.setdefault((pid, t), now)
                    time.sleep(0.25)

        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        t_start = time.time()
        result = run_ingest(str(mitdb()), bootstrap, "ecg.waveform",
                            n_patients=args.patients, seconds=args.seconds, speed=1.0,
                            show_progress=False)
        time.sleep(args.trigger_s + 10)
        stop.set()
        poller.join()
        pairs = sorted((t.timestamp() - t_start, seen_at - t.timestamp()) for (_, t), seen_at in seen.items()
                       if t.timestamp() >= t_start)
        lat = np.array([lag for _, lag in pairs])
        target = args.trigger_s + 5
        # where a batch's time goes (Spark's own per-batch figures, ms)
        progress = [p for p in hr.recentProgress if p.get("numInputRows", 0) > 0]
        phases: dict[str, list[float]] = {}
        for p in progress:
            for k, v in p.get("durationMs", {}).items():
                phases.setdefault(k, []).append(float(v))
        figures = {
            "patients": args.patients, "seconds": args.seconds, "trigger_s": args.trigger_s,
            "beats": int(lat.size), "latency_p50_s": float(np.percentile(lat, 50)),
            "latency_p95_s": float(np.percentile(lat, 95)), "latency_max_s": float(lat.max()),
            "target_s": target, "share_within_target": float(np.mean(lat <= target)),
            "messages_sent": result.stats.messages,
            "hr_batches": len(progress),
            "hr_compute_s_p50_max": [float(np.percentile([t[1] for t in hr_w.timings], 50)),
                                     float(max(t[1] for t in hr_w.timings))],
            "hr_db_write_s_p50_max": [float(np.percentile([t[2] for t in hr_w.timings], 50)),
                                      float(max(t[2] for t in hr_w.timings))],
            "hr_batch_ms_p50": {k: float(np.percentile(v, 50)) for k, v in sorted(phases.items())},
            "hr_batch_ms_max": {k: float(np.max(v)) for k, v in sorted(phases.items())},
            "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        for k, v in figures.items():
            print(f"{k:22} {v}")
        figures["beats_at_s_latency_s"] = [[round(a, 3), round(b, 3)] for a, b in pairs]
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(figures, indent=2))
        raw.stop()
        hr.stop()
        raw_w.close()
        hr_w.close()
    finally:
        if spark is not None:
            spark.stop()
        stop_pid(pg.pid)
        stop_pid(broker.pid)


if __name__ == "__main__":
    main()
