"""Latency of the Grafana queries on native PostgreSQL at hospital volume.

Loads P patients x H hours (default 200 x 24) made from MIT-BIH records with per-patient time
offsets: waveform by binary COPY (2 leads, ~1 s chunks, as the raw writer stores them), beats
from the project's QRS detector run once per record and tiled over the hours, one signal-quality
window per second; then times, as ecg_reader, every query of the ward wall (16 tiles x 4
panels), of the patient view at 1 h and 24 h, and of the alert rules. Figures are printed and
written as JSON.

    python bench/grafana_queries.py --patients 200 --hours 24 --out bench/results/grafana_queries.json
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import struct
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import psycopg

from ecgdash.core.qrs import detect_beats
from ecgdash.devstack.manager import wait_db
from ecgdash.devstack.postgres import init_cluster, start_postgres
from ecgdash.devstack.procs import free_port, stop_pid
from ecgdash.grafana.alerts import query_sql, specs
from ecgdash.grafana.build import dashboard_json
from ecgdash.grafana.config import GrafanaConfig
from ecgdash.grafana.macros import QueryContext, Variable, expand
from ecgdash.ingest.records import read_record
from ecgdash.ingest.sample_records import mitdb
from ecgdash.timescale.migrate import migrate

PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
END = datetime(2024, 3, 2, 0, 0, tzinfo=UTC)
COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)


class Template:
    """One record cut into 1 s chunks, each lead's chunk pre-encoded as a binary COPY field."""

    def __init__(self, path: Path) -> None:
        rec = read_record(path)
        self.rec = rec
        self.fs = int(rec.fs)
        self.n_chunks = rec.n_samples // self.fs
        adc = rec.adc[: self.n_chunks * self.fs]
        self.fields: list[list[bytes]] = []
        self.extremes: list[list[bytes]] = []  # the chunk's lo and hi fields (as the writer stores)
        for lead in range(adc.shape[1]):
            per = adc[:, lead].reshape(self.n_chunks, self.fs)
            self.extremes.append([struct.pack(">ihih", 2, int(lo), 2, int(hi))
                                  for lo, hi in zip(per.min(axis=1), per.max(axis=1), strict=True)])
            el = np.empty((self.n_chunks, self.fs), dtype=[("len", ">i4"), ("v", ">i2")])
            el["len"], el["v"] = 2, per
            head = struct.pack(">iiiiii", 1, 0, 21, self.fs, 1, 0)[:20]  # ndim, flags, int2, dim, lb
            body = 20 + self.fs * 6
            self.fields.append([struct.pack(">i", body) + head + el[k].tobytes()
                                for k in range(self.n_chunks)])
        beats = detect_beats(adc.astype(np.float64), rec.fs)
        self.beats_s = beats / rec.fs  # R peak times within one loop of the record, s


def _ts(t: datetime) -> bytes:
    return struct.pack(">iq", 8, (t - PG_EPOCH) // timedelta(microseconds=1))


def load(dsn: str, templates: list[Template], patients: int, hours: float) -> dict[str, float]:
    start = END - timedelta(hours=hours)
    n_sec = int(hours * 3600)
    timing: dict[str, float] = {}
    with psycopg.connect(dsn, autocommit=True) as conn:
        for p in range(patients):
            tpl = templates[p % len(templates)]
            pid = f"bed-{p:03d}"
            conn.execute("INSERT INTO patients (patient_id, source_record, fs, start_time, "
                         "n_source_samples) VALUES (%s, %s, %s, %s, %s)",
                         (pid, tpl.rec.name, tpl.fs, start, tpl.rec.n_samples))
            for i, s in enumerate(tpl.rec.signals):
                conn.execute("INSERT INTO signals VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                             (pid, i, s.lead, tpl.fs, s.gain, s.baseline, s.adc_res, s.adc_zero,
                              s.units))
        t0 = time.perf_counter()
        rows = 0
        with conn.cursor() as cur:
            for p in range(patients):
                tpl = templates[p % len(templates)]
                pid = f"bed-{p:03d}".encode()
                pid_field = struct.pack(">i", len(pid)) + pid
                offset = (p * 97) % tpl.n_chunks  # each patient starts elsewhere in its record
                with cur.copy("COPY waveform (patient_id, signal_index, time, sample_index, "
                              "samples, lo, hi) FROM STDIN (FORMAT BINARY)") as copy:
                    copy.write(COPY_HEADER)
                    buf: list[bytes] = []
                    for k in range(n_sec):
                        ts = _ts(start + timedelta(seconds=k))
                        idx = struct.pack(">iq", 8, k * tpl.fs)
                        chunk = (offset + k) % tpl.n_chunks
                        for lead, fields in enumerate(tpl.fields):
                            buf += (b"\x00\x07", pid_field, struct.pack(">ih", 2, lead), ts, idx,
                                    fields[chunk], tpl.extremes[lead][chunk])
                        if len(buf) > 60_000:
                            copy.write(b"".join(buf))
                            buf.clear()
                    buf.append(b"\xff\xff")
                    copy.write(b"".join(buf))
                rows += n_sec * len(tpl.fields)
        timing["waveform_rows"] = rows
        timing["waveform_copy_s"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        conn.execute("CREATE TEMP TABLE tpl_beats (rec int, t double precision, rr double precision)")
        for i, tpl in enumerate(templates):
            loop = tpl.n_chunks
            t = tpl.beats_s
            rr = np.diff(np.concatenate([[t[-1] - loop], t]))
            with conn.cursor().copy("COPY tpl_beats FROM STDIN") as copy:
                for a, b in zip(t, rr, strict=True):
                    copy.write_row((i, float(a), float(b)))
        for p in range(patients):
            i = p % len(templates)
            tpl = templates[i]
            offset = (p * 97) % tpl.n_chunks
            conn.execute(
                """INSERT INTO beats (patient_id, time, sample_index, rr_ms, hr_bpm, leads, quality)
                SELECT %(pid)s, %(start)s + make_interval(secs => s), (s * %(fs)s)::bigint,
                       rr * 1000, 60 / rr, 'MLII,V1', 1
                FROM (SELECT g * %(loop)s + t - %(offset)s AS s, rr
                      FROM tpl_beats, generate_series(0, ceil(%(n)s / %(loop)s::float8)::int) g
                      WHERE rec = %(rec)s) x
                WHERE s >= 0 AND s < %(n)s""",
                {"pid": f"bed-{p:03d}", "start": start, "fs": tpl.fs, "loop": tpl.n_chunks,
                 "offset": offset, "n": n_sec, "rec": i})
            conn.execute(
                """INSERT INTO signal_quality (patient_id, time, duration_s, valid, sqi, flags)
                SELECT %s, %s + make_interval(secs => g), 1, true, 1, ''
                FROM generate_series(0, %s - 1) g""", (f"bed-{p:03d}", start, n_sec))
        timing["beats_quality_insert_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        ids = [f"bed-{p:03d}" for p in range(patients)]
        conn.execute("SELECT refresh_hr_rollups(%s, %s, %s)", (ids, start, END))
        timing["rollups_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        conn.execute("VACUUM ANALYZE")
        timing["vacuum_analyze_s"] = time.perf_counter() - t0
        timing["db_size_gb"] = conn.execute(
            "SELECT (pg_database_size(current_database()) / 1e9)::float8").fetchone()[0]
    return timing


def timed(conn: psycopg.Connection, sql: str, ctx: QueryContext) -> tuple[float, int]:
    t0 = time.perf_counter()
    rows = conn.execute(expand(sql, ctx)).fetchall()
    return (time.perf_counter() - t0) * 1000, len(rows)


def measure(reader_dsn: str, patients: int, hours: float, repeat: int) -> dict[str, object]:
    cfg = GrafanaConfig()
    out: dict[str, object] = {}
    with psycopg.connect(reader_dsn, autocommit=True) as conn:
        wall = [p for p in dashboard_json("wall", cfg)["panels"] if p["type"] != "row"]
        tiles = [f"bed-{p:03d}" for p in range(min(16, patients))]
        runs = []
        for _ in range(repeat):
            total, per_panel = 0.0, {}
            for pid in tiles:
                var = {"patient": Variable((pid,), multi=True, include_all=True)}
                base = QueryContext(END - timedelta(minutes=30), END, 1000, 1, var, False)
                for panel in wall:
                    ctx = base.with_points(panel["maxDataPoints"]).panel(panel.get("timeFrom"))
                    ms, _ = timed(conn, panel["targets"][0]["rawSql"], ctx)
                    total += ms
                    per_panel[panel["title"]] = per_panel.get(panel["title"], 0.0) + ms
            runs.append((total, per_panel))
        best = min(runs, key=lambda r: r[0])
        out["wall_16_tiles_total_ms"] = {"median": statistics.median(r[0] for r in runs),
                                         "min": best[0], "queries": 4 * len(tiles)}
        out["wall_per_panel_ms_all_tiles"] = best[1]
        patient = [p for p in dashboard_json("patient", cfg)["panels"] if p["type"] != "row"]
        for label, span in (("1h", timedelta(hours=1)), ("24h", timedelta(hours=24))):
            if span > timedelta(hours=hours):
                continue
            res = {}
            for panel in patient:
                ctx = QueryContext(END - span, END, panel["maxDataPoints"], 1,
                                   {"patient": Variable(("bed-001",))}, False)
                times = [timed(conn, panel["targets"][0]["rawSql"], ctx) for _ in range(repeat)]
                res[panel["title"]] = {"ms": statistics.median(t[0] for t in times),
                                       "rows": times[0][1]}
            res["total_ms"] = sum(v["ms"] for v in res.values())
            out[f"patient_{label}"] = res
        alerts = {}
        for spec in specs(cfg):
            ctx = QueryContext(END - timedelta(seconds=spec.range_s), END, 43200, 1000, {}, False)
            times = [timed(conn, query_sql(spec, cfg), ctx) for _ in range(repeat)]
            alerts[spec.title] = {"ms": statistics.median(t[0] for t in times), "rows": times[0][1]}
        out["alerts_all_patients"] = alerts
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--patients", type=int, default=200)
    ap.add_argument("--hours", type=float, default=24.0)
    ap.add_argument("--records", type=Path, default=mitdb(),
                    help="folder of WFDB records (all *.hea are used)")
    ap.add_argument("--repeat", type=int, default=5, help="runs per query (median reported)")
    ap.add_argument("--work-dir", type=Path, help="PostgreSQL data dir parent (default: a temp dir)")
    ap.add_argument("--keep", action="store_true", help="keep the database files")
    ap.add_argument("--out", type=Path,
                    default=Path(__file__).resolve().parent / "results" / "grafana_queries.json")
    args = ap.parse_args()

    work = args.work_dir or Path(tempfile.mkdtemp(prefix="ecgdash-bench-grafana-"))
    work.mkdir(parents=True, exist_ok=True)
    templates = [Template(h.with_suffix("")) for h in sorted(args.records.glob("*.hea"))]
    port = free_port()
    init_cluster(work / "data", "bench-admin")
    proc = start_postgres(work / "data", port, work / "pg.log")
    try:
        admin = f"postgresql://postgres:bench-admin@127.0.0.1:{port}/postgres"
        wait_db(admin)
        migrate(admin, reader_password="bench-reader", use_timescaledb=False)
        t0 = time.perf_counter()
        load_timing = load(admin, templates, args.patients, args.hours)
        load_timing["total_load_s"] = time.perf_counter() - t0
        print(json.dumps({"load": load_timing}, indent=2), flush=True)
        reader = f"postgresql://ecg_reader:bench-reader@127.0.0.1:{port}/postgres"
        figures = measure(reader, args.patients, args.hours, args.repeat)
    finally:
        stop_pid(proc.pid)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    result = {"patients": args.patients, "hours": args.hours,
              "records": [t.rec.name for t in templates], "load": load_timing, **figures}
    print(json.dumps(figures, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wall, 16 tiles: {figures['wall_16_tiles_total_ms']['median']:.1f} ms "
          f"(target < 200 ms); written {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
