"""Latency of the Grafana queries on native PostgreSQL at hospital volume, with history.

Loads P admitted beds x H hours (default 200 x 24) made from MIT-BIH records with per-patient time
offsets: waveform by binary COPY (2 leads, ~1 s chunks, as the raw writer stores them), beats
from the project's QRS detector run once per record and tiled over the hours, one signal-quality
window per second. Behind it, a month of history (--history-days): discharged patients (each
with --history-minutes of signal, beats and quality at a random time of the month, and a closed
admission), the writer ledger of a 2 s raw writer and a 60 s heart-rate job for the whole month,
and dead letters. Then times, as ecg_reader, every query of a wall page (16 beds x 3 panels, and
32 beds on the 4K wall) with the intervals Grafana computes, the patient view at 1 h and 24 h,
the pipeline dashboard and the alert rules; and what a 1 s refresh costs: the database time of
one refresh of every page of the ward (all beds), and --walls concurrent walls refreshing every
second for --refresh-seconds. Figures are printed and written as JSON.

    python bench/grafana_queries.py --patients 200 --hours 24 --history-days 30 \
        --out bench/results/grafana_queries.json
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import struct
import tempfile
import threading
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


def _register(conn: psycopg.Connection, pid: str, tpl: Template, start: datetime) -> None:
    conn.execute("INSERT INTO patients (patient_id, source_record, fs, start_time, "
                 "n_source_samples) VALUES (%s, %s, %s, %s, %s)",
                 (pid, tpl.rec.name, tpl.fs, start, tpl.rec.n_samples))
    for i, s in enumerate(tpl.rec.signals):
        conn.execute("INSERT INTO signals VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                     (pid, i, s.lead, tpl.fs, s.gain, s.baseline, s.adc_res, s.adc_zero, s.units))


def _streams(conn: psycopg.Connection, templates: list[Template],
             streams: list[tuple[str, int, datetime, int]]) -> int:
    """COPY waveform, insert beats and quality of (patient, template index, start, seconds)."""
    rows = 0
    with conn.cursor() as cur:
        for pid_text, i, start, n_sec in streams:
            tpl = templates[i]
            pid = pid_text.encode()
            pid_field = struct.pack(">i", len(pid)) + pid
            offset = (int(pid_text.rsplit('-', 1)[1]) * 97) % tpl.n_chunks  # elsewhere in its record
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
            conn.execute(
                """INSERT INTO beats (patient_id, time, sample_index, rr_ms, hr_bpm, leads, quality)
                SELECT %(pid)s, %(start)s + make_interval(secs => s), (s * %(fs)s)::bigint,
                       rr * 1000, 60 / rr, 'MLII,V1', 1
                FROM (SELECT g * %(loop)s + t - %(offset)s AS s, rr
                      FROM tpl_beats, generate_series(0, ceil(%(n)s / %(loop)s::float8)::int) g
                      WHERE rec = %(rec)s) x
                WHERE s >= 0 AND s < %(n)s""",
                {"pid": pid_text, "start": start, "fs": tpl.fs, "loop": tpl.n_chunks,
                 "offset": offset, "n": n_sec, "rec": i})
            conn.execute(
                """INSERT INTO signal_quality (patient_id, time, duration_s, valid, sqi, flags)
                SELECT %s, %s + make_interval(secs => g), 1, true, 1, ''
                FROM generate_series(0, %s - 1) g""", (pid_text, start, n_sec))
    return rows


def _template_beats(conn: psycopg.Connection, templates: list[Template]) -> None:
    conn.execute("CREATE TEMP TABLE tpl_beats (rec int, t double precision, rr double precision)")
    for i, tpl in enumerate(templates):
        t = tpl.beats_s
        rr = np.diff(np.concatenate([[t[-1] - tpl.n_chunks], t]))
        with conn.cursor().copy("COPY tpl_beats FROM STDIN") as copy:
            for a, b in zip(t, rr, strict=True):
                copy.write_row((i, float(a), float(b)))


def load_history(dsn: str, templates: list[Template], days: float, patients: int,
                 minutes: float, current_start: datetime) -> dict[str, float]:
    """A month behind the current beds: discharged patients with a little signal each, the writer
    ledger of a 2 s raw writer and a 60 s heart-rate job, and dead letters."""
    timing: dict[str, float] = {}
    rng = random.Random(7)
    h_start = current_start - timedelta(days=days)
    t0 = time.perf_counter()
    with psycopg.connect(dsn, autocommit=True) as conn:
        _template_beats(conn, templates)
        streams = []
        for k in range(patients):
            at = h_start + timedelta(seconds=rng.uniform(0, days * 86400 - minutes * 60 - 3600))
            pid = f"past-{k:04d}"
            _register(conn, pid, templates[k % len(templates)], at)
            streams.append((pid, k % len(templates), at, int(minutes * 60)))
            conn.execute("INSERT INTO admissions (bed, patient_id, admitted_at, discharged_at) "
                         "VALUES (%s, %s, %s, %s)",
                         (f"Bed {k % 200 + 1}", pid, at - timedelta(minutes=5),
                          at + timedelta(minutes=minutes + 5)))
        timing["history_waveform_rows"] = _streams(conn, templates, streams)
        ids = [s[0] for s in streams]
        conn.execute("SELECT refresh_hr_rollups(%s, %s, %s)", (ids, h_start, current_start))
        span_s = (END - h_start).total_seconds()  # the ledger runs up to the end of the data
        n_raw = int(span_s / 2)
        conn.execute(
            """INSERT INTO writer_batches (query_id, batch_id, query_name, messages, chunks, samples,
                                           duplicates_skipped, dead_lettered, committed_at)
            SELECT 'raw-history', g, 'raw_writer', 400, 800, 288000, 0, 0,
                   %s + make_interval(secs => g * 2)
            FROM generate_series(0, %s - 1) g""", (h_start, n_raw))
        conn.execute(
            """INSERT INTO writer_batches (query_id, batch_id, query_name, messages, chunks, samples,
                                           duplicates_skipped, dead_lettered, committed_at)
            SELECT 'hr-history', g, 'hr_job', 12000, 0, 0, 0, 0, %s + make_interval(secs => g * 60)
            FROM generate_series(0, %s - 1) g""", (h_start, int(span_s / 60)))
        conn.execute(
            """INSERT INTO dead_letters (query_id, batch_id, topic, kafka_partition, kafka_offset,
                                         patient_key, reason, recorded_at)
            SELECT 'raw-history', g, 'ecg.waveform', 0, g, 'x', 'bad checksum',
                   %s + make_interval(secs => g * 86.4)
            FROM generate_series(0, %s - 1) g""", (h_start, int(days * 1000)))
        timing["history_ledger_rows"] = n_raw + int(span_s / 60)
    timing["history_load_s"] = time.perf_counter() - t0
    return timing


# STAND-IN for the alarms engineer's migration 004 (issue 11), created only where the database
# has no alarm_events yet: the contract's table and view, and the indexes the wall needs (active
# alarms by patient; events by patient and onset for the patient view's annotations).
ALARM_STAND_IN = """
CREATE TABLE alarm_events (
    alarm_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, patient_id text NOT NULL,
    kind text NOT NULL, priority text NOT NULL, onset timestamptz NOT NULL, ended timestamptz,
    raised_at timestamptz NOT NULL, ended_at timestamptz, value double precision,
    message text NOT NULL DEFAULT '', acked_by text, acked_at timestamptz);
CREATE VIEW alarms_active AS
SELECT patient_id, kind, priority, onset, raised_at, value, message, acked_at IS NOT NULL AS acked
FROM alarm_events WHERE ended_at IS NULL OR (priority = 'high' AND acked_at IS NULL);
CREATE INDEX alarm_events_active ON alarm_events (patient_id)
    WHERE ended_at IS NULL OR (priority = 'high' AND acked_at IS NULL);
CREATE INDEX alarm_events_patient_onset ON alarm_events (patient_id, onset);
GRANT SELECT ON alarm_events, alarms_active TO ecg_reader;
"""


def load_alarms(dsn: str, patients: int, days: float) -> dict[str, float]:
    """A month of ended alarm events (10 a bed a day) and one active alarm on every tenth bed."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        if conn.execute("SELECT to_regclass('alarm_events')").fetchone()[0] is None:
            conn.execute(ALARM_STAND_IN)
        conn.execute(
            """INSERT INTO alarm_events (patient_id, kind, priority, onset, ended, raised_at,
                                         ended_at, value, message)
            SELECT 'bed-' || lpad((g %% %(p)s)::text, 3, '0'), 'tachycardia', 'medium', t,
                   t + '30 s', t + '2 s', t + '32 s', 130, 'history'
            FROM generate_series(0, (%(p)s * %(days)s * 10)::int - 1) g,
                 LATERAL (SELECT %(end)s::timestamptz - '1 min'::interval
                                 - make_interval(secs => g * 8640.0 / %(p)s)) x (t)""",
            {"p": patients, "days": days, "end": END})
        conn.execute(
            """INSERT INTO alarm_events (patient_id, kind, priority, onset, raised_at, value, message)
            SELECT 'bed-' || lpad(g::text, 3, '0'), 'asystole', 'high', %(end)s - '20 s'::interval,
                   %(end)s - '18 s'::interval, 6, 'no beat for 6 s'
            FROM generate_series(0, %(p)s - 1, 10) g""", {"p": patients, "end": END})
        return {"alarm_events": conn.execute("SELECT count(*) FROM alarm_events").fetchone()[0]}


def load(dsn: str, templates: list[Template], patients: int, hours: float) -> dict[str, float]:
    start = END - timedelta(hours=hours)
    n_sec = int(hours * 3600)
    timing: dict[str, float] = {}
    with psycopg.connect(dsn, autocommit=True) as conn:
        for p in range(patients):
            tpl = templates[p % len(templates)]
            pid = f"bed-{p:03d}"
            _register(conn, pid, tpl, start)
            conn.execute("INSERT INTO admissions (bed, patient_id, admitted_at) VALUES (%s, %s, %s)",
                         (f"Bed {p + 1}", pid, start - timedelta(minutes=10)))
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


def _page_queries(cfg: GrafanaConfig, name: str, page: int) -> list[tuple[str, str, QueryContext]]:
    """(panel kind, SQL, context) of every query of one wall page at END, as Grafana runs them."""
    d = dashboard_json(name, cfg)
    var = {"page": Variable((str(page),))}
    out = []
    for v in d["templating"]["list"]:
        out.append(("page variable", v["query"], QueryContext(END - timedelta(minutes=5), END,
                                                              100, 1, var, False)))
    for panel in d["panels"]:
        kind = {101: "strip", 102: "hr", 103: "state"}.get(100 + panel["id"] % 10, "other")
        if panel["id"] < 100:
            kind = panel["title"] or panel["type"]
        ctx = QueryContext.for_panel(panel, END - timedelta(minutes=5), END, var, False)
        out += [(kind, t["rawSql"], ctx) for t in panel["targets"]]
    return out


def server_ms(conn: psycopg.Connection, queries: list[tuple[str, str, QueryContext]]) -> float:
    """The database's own execution time of the queries (EXPLAIN ANALYZE, rows computed but not
    sent): the refresh's cost to the database, without the client's transfer and decoding."""
    total = 0.0
    for _kind, sql, ctx in queries:
        plan = conn.execute("EXPLAIN (ANALYZE, TIMING OFF, SUMMARY ON) " + expand(sql, ctx)).fetchall()
        total += next(float(r[0].split(":")[1].split()[0]) for r in plan
                      if r[0].startswith("Execution Time"))
    return total


def _refresh(conn: psycopg.Connection, queries: list[tuple[str, str, QueryContext]]) -> tuple[float, dict]:
    per: dict[str, float] = {}
    total = 0.0
    for kind, sql, ctx in queries:
        ms, _ = timed(conn, sql, ctx)
        per[kind] = per.get(kind, 0.0) + ms
        total += ms
    return total, per


def concurrent_refresh(reader_dsn: str, queries: list[tuple[str, str, QueryContext]],
                       connections: int, repeat: int) -> float:
    """Median wall-clock ms of one refresh with the queries issued as Grafana issues them: all at
    once, over up to `connections` pooled connections (the datasource's maxOpenConns is 20)."""
    from concurrent.futures import ThreadPoolExecutor

    conns = [psycopg.connect(reader_dsn, autocommit=True) for _ in range(connections)]
    free = list(conns)
    lock = threading.Lock()

    def one(item: tuple[str, str, QueryContext]) -> None:
        with lock:
            conn = free.pop()
        try:
            timed(conn, item[1], item[2])
        finally:
            with lock:
                free.append(conn)

    try:
        runs = []
        with ThreadPoolExecutor(connections) as pool:
            for _ in range(repeat):
                t0 = time.perf_counter()
                list(pool.map(one, queries))
                runs.append((time.perf_counter() - t0) * 1000)
        return statistics.median(runs)
    finally:
        for c in conns:
            c.close()


def refresh_load(reader_dsn: str, cfg: GrafanaConfig, pages: int, walls: int,
                 seconds: float) -> dict[str, object]:
    """`walls` walls (pages 1..pages, round robin), each refreshing every second for `seconds`:
    refresh durations, refreshes that overran the second, and the database time they used."""
    durations: list[float] = []
    overruns = [0]
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def wall(k: int) -> None:
        queries = _page_queries(cfg, "wall", k % pages + 1)
        with psycopg.connect(reader_dsn, autocommit=True) as conn:
            tick = time.monotonic()
            while tick < stop_at:
                total, _ = _refresh(conn, queries)
                with lock:
                    durations.append(total)
                    overruns[0] += total > 1000
                tick += 1.0
                time.sleep(max(0.0, tick - time.monotonic()))

    threads = [threading.Thread(target=wall, args=(k,)) for k in range(walls)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    durations.sort()
    return {"walls": walls, "seconds": round(elapsed, 1), "refreshes": len(durations),
            "refresh_ms_p50": durations[len(durations) // 2],
            "refresh_ms_p95": durations[int(len(durations) * 0.95)],
            "overran_1s": overruns[0],
            "db_busy_cores": round(sum(durations) / 1000 / elapsed, 2)}


def measure(reader_dsn: str, patients: int, hours: float, repeat: int, walls: int,
            refresh_seconds: float) -> dict[str, object]:
    cfg = GrafanaConfig()
    out: dict[str, object] = {}
    with psycopg.connect(reader_dsn, autocommit=True) as conn:
        for name, beds in (("wall", 16), ("wall-4k", 32)):
            queries = _page_queries(cfg, name, 1)
            runs = [_refresh(conn, queries) for _ in range(repeat)]
            best = min(runs, key=lambda r: r[0])
            out[f"{name}_page1"] = {"beds": beds, "queries": len(queries),
                                    "total_ms_median": statistics.median(r[0] for r in runs),
                                    "total_ms_min": best[0], "per_panel_kind_ms": best[1],
                                    "server_execution_ms_median": statistics.median(
                                        server_ms(conn, queries) for _ in range(repeat)),
                                    "refresh_ms_concurrent_8_connections":
                                        concurrent_refresh(reader_dsn, queries, 8, repeat)}
        pages = -(-patients // 16)
        ward = [server_ms(conn, _page_queries(cfg, "wall", n)) for n in range(1, pages + 1)]
        out["ward_all_pages"] = {"pages": pages, "beds": patients,
                                 "server_ms_per_refresh": sum(ward),
                                 "at_1s_refresh_cores": round(sum(ward) / 1000, 2),
                                 "at_2s_refresh_cores": round(sum(ward) / 2000, 2)}
        patient = [p for p in dashboard_json("patient", cfg)["panels"] if p["type"] != "row"]
        annotations = dashboard_json("patient", cfg)["annotations"]["list"]
        var = {"patient": Variable(("bed-001",))}
        for label, span in (("1h", timedelta(hours=1)), ("24h", timedelta(hours=24)),
                            ("5m", timedelta(minutes=5))):
            if span > timedelta(hours=hours):
                continue
            res = {}
            for panel in patient:
                ctx = QueryContext.for_panel(panel, END - span, END, var, False)
                times = [timed(conn, panel["targets"][0]["rawSql"], ctx) for _ in range(repeat)]
                res[panel["title"]] = {"ms": statistics.median(t[0] for t in times),
                                       "rows": times[0][1]}
            for a in annotations:
                ctx = QueryContext(END - span, END, 1000, 1, var, False)
                times = [timed(conn, a["target"]["rawSql"], ctx) for _ in range(repeat)]
                res[f"annotations: {a['name']}"] = {"ms": statistics.median(t[0] for t in times),
                                                    "rows": times[0][1]}
            res["total_ms"] = sum(v["ms"] for v in res.values())
            out[f"patient_{label}"] = res
        pipeline = {}
        for panel in dashboard_json("pipeline", cfg)["panels"]:
            ctx = QueryContext.for_panel(panel, END - timedelta(hours=1), END, {}, False)
            times = [timed(conn, panel["targets"][0]["rawSql"], ctx) for _ in range(repeat)]
            pipeline[panel["title"]] = {"ms": statistics.median(t[0] for t in times),
                                        "rows": times[0][1]}
        out["pipeline_1h"] = pipeline
        alerts = {}
        for spec in specs(cfg):
            ctx = QueryContext(END - timedelta(seconds=spec.range_s), END, 43200, 1000, {}, False)
            times = [timed(conn, query_sql(spec, cfg), ctx) for _ in range(repeat)]
            alerts[spec.title] = {"ms": statistics.median(t[0] for t in times), "rows": times[0][1]}
        out["alerts_all_patients"] = alerts
    if walls:
        out["refresh_1s_concurrent"] = refresh_load(reader_dsn, cfg, -(-patients // 16), walls,
                                                    refresh_seconds)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--patients", type=int, default=200)
    ap.add_argument("--hours", type=float, default=24.0)
    ap.add_argument("--records", type=Path, default=mitdb(),
                    help="folder of WFDB records (all *.hea are used)")
    ap.add_argument("--repeat", type=int, default=5, help="runs per query (median reported)")
    ap.add_argument("--history-days", type=float, default=30.0,
                    help="days of history behind the current beds (0: none)")
    ap.add_argument("--history-patients", type=int, default=1200,
                    help="discharged patients in the history (200 beds turned over every 5 days)")
    ap.add_argument("--history-minutes", type=float, default=10.0,
                    help="minutes of stored signal per discharged patient")
    ap.add_argument("--walls", type=int, default=13,
                    help="concurrent 16-bed walls refreshing every second (13 = 200 beds)")
    ap.add_argument("--refresh-seconds", type=float, default=30.0)
    ap.add_argument("--work-dir", type=Path, help="PostgreSQL data dir parent (default: a temp dir)")
    ap.add_argument("--keep", action="store_true", help="keep the database files")
    ap.add_argument("--reuse", action="store_true",
                    help="measure the database a kept --work-dir holds (loaded before) again")
    ap.add_argument("--out", type=Path,
                    default=Path(__file__).resolve().parent / "results" / "grafana_queries.json")
    args = ap.parse_args()

    work = args.work_dir or Path(tempfile.mkdtemp(prefix="ecgdash-bench-grafana-"))
    work.mkdir(parents=True, exist_ok=True)
    loaded = work / "load.json"
    reuse = args.reuse and loaded.exists()
    templates = [Template(h.with_suffix("")) for h in sorted(args.records.glob("*.hea"))]
    port = free_port()
    if not reuse:
        init_cluster(work / "data", "bench-admin")
    proc = start_postgres(work / "data", port, work / "pg.log")
    try:
        admin = f"postgresql://postgres:bench-admin@127.0.0.1:{port}/postgres"
        wait_db(admin)
        migrate(admin, reader_password="bench-reader", use_timescaledb=False)
        if reuse:
            load_timing = json.loads(loaded.read_text())
        else:
            t0 = time.perf_counter()
            load_timing = load(admin, templates, args.patients, args.hours)
            load_timing.update(load_alarms(admin, args.patients, max(args.history_days, 1)))
            if args.history_days > 0:
                load_timing.update(load_history(
                    admin, templates, args.history_days, args.history_patients,
                    args.history_minutes, END - timedelta(hours=args.hours)))
                with psycopg.connect(admin, autocommit=True) as conn:
                    conn.execute("VACUUM ANALYZE")
            load_timing["total_load_s"] = time.perf_counter() - t0
            loaded.write_text(json.dumps(load_timing))
        print(json.dumps({"load": load_timing}, indent=2), flush=True)
        reader = f"postgresql://ecg_reader:bench-reader@127.0.0.1:{port}/postgres"
        figures = measure(reader, args.patients, args.hours, args.repeat, args.walls,
                          args.refresh_seconds)
    finally:
        stop_pid(proc.pid)
        if not args.keep and not args.reuse:
            shutil.rmtree(work, ignore_errors=True)
    result = {"patients": args.patients, "hours": args.hours,
              "records": [t.rec.name for t in templates], "load": load_timing, **figures}
    print(json.dumps(figures, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wall page of 16 beds: {figures['wall_page1']['total_ms_median']:.1f} ms "
          f"(target < 200 ms); written {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
