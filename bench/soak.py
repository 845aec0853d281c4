"""Soak with faults: every part of the pipeline together, faults injected at random, and the
proof that nothing was lost or doubled.

Starts the Tansu broker, a private database (``--db postgres`` or ``timescale``) reached
through a TCP proxy, and one Spark session running the raw writer (2 s trigger) and the
heart-rate job. Replays ``--beds`` patients at speed 1 for ``--minutes``. With ``--faults``,
every 20-60 s it injects one of: database restart, database SIGKILL (embedded TimescaleDB
only), network stall (10 s), network cut, and with ``--broker-storage s3`` (Tansu on a local S3,
moto_server: durable, so a restart loses nothing) broker restart. The default broker keeps its
log in memory, where a restart would lose messages by design, so it is not restarted: Tansu 0.6's
S3 engine stalls fetches under a continuous stream of small batches here (a fetch at an offset
it holds returned nothing for minutes), so a long soak on it measures Tansu, not us; the broker
restart is covered by tests/spark_jobs/test_faults.py on a short replay. Afterwards it checks
every stored sample against its record and every stored beat against the offline detector.

Prints each fault's recovery time (fault over -> the raw writer commits again) and writes JSON:
``{"lost": 0, "doubled": 0, "mismatched": 0, "beats_differ": 0, "faults": [{"kind", "at_s",
"recovery_s"}], ...}``. ``lost`` and ``doubled`` must be 0.

    python bench/soak.py --beds 20 --minutes 10 --faults --json bench/results/soak.json
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import numpy as np
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.helpers: the fault tools

from ecgdash.core.clock import us_to_datetime  # noqa: E402
from ecgdash.core.kafka import ensure_topics  # noqa: E402
from ecgdash.core.qrs import detect_beats  # noqa: E402
from ecgdash.devstack.broker import tansu_binary  # noqa: E402
from ecgdash.devstack.procs import LOCALHOST, free_port, spawn, stop_pid, wait_port  # noqa: E402
from ecgdash.ingest.records import read_record  # noqa: E402
from ecgdash.ingest.run import run_ingest  # noqa: E402
from ecgdash.spark_jobs.hr_job import start_hr_job  # noqa: E402
from ecgdash.spark_jobs.raw_writer import start_raw_writer  # noqa: E402
from ecgdash.spark_jobs.session import make_spark  # noqa: E402
from tests.helpers import MITDB  # noqa: E402
from tests.helpers.faults import TcpProxy  # noqa: E402
from tests.helpers.pipeline import PrivateDb, ledger_replays, verify, wait_stored  # noqa: E402

# producer resends (duplicates, conflicts) are covered by tests/spark_jobs/test_faults.py
FAULTS = ("db_restart", "db_kill", "net_stall", "net_cut", "broker_restart")


class Broker:
    """Tansu, in memory or on S3 storage (moto_server: restartable without losing messages)."""

    def __init__(self, work: Path, storage: str) -> None:
        self.work = work
        self.storage = storage
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.n = 0
        self.moto = None
        if storage == "s3":
            self._start_s3()

    def _start_s3(self) -> None:
        work = self.work
        self.s3_port = free_port()
        exe = Path(sys.executable).parent / "moto_server"
        log = work / "moto.log"
        self.moto = spawn([str(exe), "-H", LOCALHOST, "-p", str(self.s3_port)], log)
        wait_port(LOCALHOST, self.s3_port, 30, self.moto, log)
        self.env = {**os.environ, "AWS_ENDPOINT": f"http://{LOCALHOST}:{self.s3_port}",
                    "AWS_ENDPOINT_URL": f"http://{LOCALHOST}:{self.s3_port}",
                    "AWS_ALLOW_HTTP": "true", "AWS_ACCESS_KEY_ID": "test",
                    "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1"}
        import boto3

        boto3.client("s3", endpoint_url=self.env["AWS_ENDPOINT"], region_name="us-east-1",
                     aws_access_key_id="test", aws_secret_access_key="test").create_bucket(Bucket="tansu")

    @property
    def bootstrap(self) -> str:
        return f"{LOCALHOST}:{self.port}"

    def start(self) -> None:
        url = f"tcp://{LOCALHOST}:{self.port}"
        self.n += 1
        log = self.work / f"broker{self.n}.log"
        engine = "s3://tansu/" if self.storage == "s3" else "memory://tansu/"
        self.proc = spawn([str(tansu_binary()), "broker", "--listener-url", url,
                           "--advertised-listener-url", url, "--storage-engine", engine],
                          log, env=self.env if self.storage == "s3" else None)
        wait_port(LOCALHOST, self.port, 30, self.proc, log)

    def kill(self) -> None:
        if self.proc is not None:
            os.killpg(self.proc.pid, 9)
            self.proc.wait()
            self.proc = None

    def close(self) -> None:
        self.kill()
        if self.moto is not None:
            stop_pid(self.moto.pid)


def last_commit(dsn: str) -> float | None:
    try:
        with psycopg.connect(dsn, connect_timeout=3) as conn:
            row = conn.execute("SELECT extract(epoch FROM max(committed_at)) FROM writer_batches "
                               "WHERE query_name = 'raw_writer'").fetchone()
        return float(row[0]) if row and row[0] is not None else None
    except psycopg.Error:
        return None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--beds", type=int, default=20)
    ap.add_argument("--minutes", type=float, default=5.0)
    ap.add_argument("--db", choices=["postgres", "timescale"], default="postgres")
    ap.add_argument("--faults", action="store_true", help="inject faults at random")
    ap.add_argument("--broker-storage", choices=["memory", "s3"], default="memory",
                    help="s3: Tansu on a local S3, and broker restarts among the faults")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--hr-trigger-s", type=float, default=5.0)
    ap.add_argument("--json", type=Path, default=Path(__file__).resolve().parent / "results" / "soak.json")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="ecgdash-soak-"))
    broker = Broker(work, args.broker_storage)
    broker.start()
    topic = f"ecg.soak.{uuid.uuid4().hex[:6]}"
    ensure_topics(broker.bootstrap, {topic: 4, topic + ".dlq": 1})
    pdb = PrivateDb(args.db, work / "db")
    db = pdb.start()
    proxy = TcpProxy(pdb.port)
    via = db.writer.replace(f":{pdb.port}/", f":{proxy.port}/")
    spark = make_spark("local[2]", "ecgdash-soak")
    raw, raw_w = start_raw_writer(spark, bootstrap=broker.bootstrap, topic=topic,
                                  dlq_topic=topic + ".dlq", writer_dsn=via,
                                  checkpoint=work / "ck" / "raw", max_offsets_per_trigger=20_000)
    hr, hr_w = start_hr_job(spark, bootstrap=broker.bootstrap, topic=topic, writer_dsn=via,
                            checkpoint=work / "ck" / "hr", trigger_s=args.hr_trigger_s,
                            max_offsets_per_trigger=20_000)
    results: list = []

    def produce() -> None:
        results.append(run_ingest(str(MITDB), broker.bootstrap, topic, n_patients=args.beds,
                                  seconds=args.minutes * 60, speed=1.0, show_progress=False))

    producer = threading.Thread(target=produce, daemon=True)
    t_start = time.monotonic()
    producer.start()
    faults: list[dict] = []
    kinds = [k for k in FAULTS if not (k == "db_kill" and args.db != "timescale")
             and not (k == "broker_restart" and args.broker_storage != "s3")]
    try:
        while producer.is_alive():
            time.sleep(rng.uniform(20, 60))
            # a fault needs new data after it to show a recovery: none in the last 45 s
            if (not args.faults or not producer.is_alive()
                    or time.monotonic() - t_start > args.minutes * 60 - 45):
                continue
            kind = rng.choice(kinds)
            at = time.monotonic() - t_start
            print(f"[{at:6.1f} s] fault: {kind}", flush=True)
            if kind in ("db_restart", "db_kill"):
                pdb.kill() if kind == "db_kill" else pdb.stop()
                time.sleep(3)
                pdb.start()
            elif kind == "net_stall":
                proxy.pause()
                time.sleep(10)
                proxy.resume()
            elif kind == "net_cut":
                proxy.cut()
            elif kind == "broker_restart":
                broker.kill()
                time.sleep(2)
                broker.start()
            ended = time.time()
            t_end = time.monotonic()
            recovery = None
            while time.monotonic() - t_end < 300:
                lc = last_commit(db.reader)
                if lc is not None and lc > ended:
                    recovery = round(time.monotonic() - t_end, 2)
                    break
                time.sleep(0.5)
            print(f"           recovered after {recovery} s", flush=True)
            faults.append({"kind": kind, "at_s": round(at, 1), "recovery_s": recovery})
        producer.join()
        wait_stored(db, results, 600, raw)
        time.sleep(args.hr_trigger_s * 3)
        v = verify(db, results)
        beats_differ = 0
        streams = [s for r in results for s in r.streams]
        with psycopg.connect(db.reader) as conn:
            for s in streams:
                rec = read_record(MITDB / s.recording.name)
                n = s.n_total - 5 * int(rec.fs)  # the newest seconds are not final yet
                idx = (s.source_offset + np.arange(s.n_total)) % rec.n_samples
                offline = detect_beats(rec.adc[idx].astype(float), rec.fs)
                offline = offline[offline < n]
                stored = np.array([r[0] for r in conn.execute(
                    "SELECT sample_index FROM beats WHERE patient_id = %s AND time >= %s AND "
                    "sample_index < %s ORDER BY 1", (s.patient, us_to_datetime(s.start_us), n))])
                beats_differ += len(set(offline.tolist()) ^ set(stored.tolist()))
        doubled_batches = ledger_replays(db, us_to_datetime(0))
    finally:
        for q in (raw, hr):
            q.stop()
        raw_w.close()
        hr_w.close()
        proxy.close()
        pdb.stop()
        broker.close()
    want = sum(s.n_total * len(s.recording.signals) for s in streams)
    out = {
        "beds": args.beds, "minutes": args.minutes, "db": args.db, "faults_injected": len(faults),
        "samples_sent": want, "samples_stored": v.samples_stored, "lost": v.missing,
        "doubled": v.duplicates + doubled_batches, "mismatched": v.samples_mismatched,
        "beats_differ": beats_differ, "faults": faults,
        "recovery_s_max": max((f["recovery_s"] or 0 for f in faults), default=None),
    }
    print(json.dumps(out, indent=2))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(out, indent=2))
    return 0 if out["lost"] == out["doubled"] == out["mismatched"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
