"""`ecgdash demo`: the whole pipeline on the local stack, checked against the source records."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import wfdb

from ecgdash.core.clock import datetime_to_us, now_us, us_to_datetime
from ecgdash.core.kafka import end_offsets_json
from ecgdash.devstack.manager import StackInfo, local_secrets, stack_down, stack_up
from ecgdash.export import export
from ecgdash.ingest.records import Recording, load_records
from ecgdash.ingest.replay import plan_streams
from ecgdash.ingest.run import run_ingest
from ecgdash.ingest.sample_records import mitdb
from ecgdash.spark_jobs.hr_job import start_hr_job
from ecgdash.spark_jobs.raw_writer import start_raw_writer
from ecgdash.spark_jobs.session import make_spark
from ecgdash.timescale import dead_letters, heart_rate, waveform
from ecgdash.timescale.admissions import admissions, admit
from ecgdash.timescale.migrate import migrate
from ecgdash.verify import percentile, verify_store

DEMO_RECORDS = mitdb()


@dataclass(frozen=True)
class DemoOptions:
    home: Path
    db_mode: str = "timescale"
    patients: int = 8
    minutes: float = 5.0
    speed: float | None = 20.0
    records_dir: Path = DEMO_RECORDS
    topic: str = "ecg.waveform"
    dlq_topic: str = "ecg.waveform.dlq"
    partitions: int = 4
    trigger_s: float = 2.0
    retention_days: int = 30
    keep: bool = False
    wait_s: float = 300.0  # after the replay, how long to wait for the writer to catch up


def run_demo(opts: DemoOptions) -> dict[str, Any]:
    """Start, migrate, replay, write, verify; returns the summary (see README for the fields)."""
    info = stack_up(opts.home, opts.db_mode, {opts.topic: opts.partitions, opts.dlq_topic: 1})
    query = None
    try:
        pw = local_secrets(opts.home.resolve())
        migrate(info.admin_dsn, retention_days=opts.retention_days,
                writer_password=pw["ecg_writer"], reader_password=pw["ecg_reader"])
        starting = end_offsets_json(info.bootstrap, opts.topic)
        spark = make_spark()
        run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        query, _writer = start_raw_writer(
            spark, bootstrap=info.bootstrap, topic=opts.topic, dlq_topic=opts.dlq_topic,
            writer_dsn=info.writer_dsn, checkpoint=opts.home.resolve() / "checkpoints" /
            f"demo-{run_id}", trigger_s=opts.trigger_s, starting_offsets=starting,
        )
        # warm up (Python workers, first plan) before the replay, so latency is steady-state
        query.processAllAvailable()
        start_us = _clear_start(info)
        admit_beds(info.writer_dsn, _planned_patients(opts, start_us))
        paced_from = datetime.now(UTC)
        t0 = time.monotonic()
        result = run_ingest(
            str(opts.records_dir), info.bootstrap, opts.topic, n_patients=opts.patients,
            seconds=opts.minutes * 60, speed=opts.speed, start_us=start_us,
        )
        replay_s = time.monotonic() - t0
        if not result.streams:
            raise SystemExit(f"nothing replayed: {result.errors}")
        since = us_to_datetime(result.streams[0].start_us)
        expected = {s.patient: (s.recording.name, s.n_total) for s in result.streams}
        sent = sum(s.n_total * len(s.recording.signals) for s in result.streams)
        _wait_stored(info, list(expected), since, sent, opts.wait_s, query)
        caught_up_s = time.monotonic() - t0
        query.stop()
        query = None
        hr_query, hr_writer = start_hr_job(
            spark, bootstrap=info.bootstrap, topic=opts.topic, writer_dsn=info.writer_dsn,
            checkpoint=opts.home.resolve() / "checkpoints" / f"demo-hr-{run_id}",
            starting_offsets=starting, available_now=True,
        )
        hr_query.awaitTermination()
        hr_writer.close()
        recordings: dict[str, Recording] = {}
        for name, rec in load_records(str(opts.records_dir)):
            if isinstance(rec, Recording):
                recordings[name] = rec
        with psycopg.connect(info.reader_dsn) as conn:
            v = verify_store(conn, recordings, expected, since, speed=opts.speed,
                             paced_from=paced_from)
            dead = dead_letters.count(conn)
            heart = heart_rates(conn, result.streams, opts.records_dir)
            exported = export_check(conn, result.streams[0], opts.records_dir,
                                    opts.home.resolve() / "exports")  # fmt: skip
        summary = {
            "db_mode": opts.db_mode,
            "patients": len(expected),
            "minutes": opts.minutes,
            "speed": opts.speed,
            "samples_sent": sent,
            "samples_stored": v.samples_stored,
            "samples_mismatched": v.samples_mismatched,
            "duplicates": v.duplicates,
            "missing": v.missing,
            "dead_lettered": dead,
            "latency_p50_s": percentile(v.latencies_s, 50),
            "latency_p95_s": percentile(v.latencies_s, 95),
            "replay_s": round(replay_s, 2),
            "stored_all_after_s": round(caught_up_s, 2),
            "record_errors": [str(e) for e in result.errors],
            "heart_rate_bpm": heart,
            "wfdb_export": exported,
        }
        return summary
    finally:
        if query is not None:
            query.stop()
        if not opts.keep:
            stack_down(opts.home)


def _clear_start(info: StackInfo) -> int:
    """Now, or just after the newest stored sample if that lies ahead: a replay at full speed
    stores signal up to `minutes` into the future, and a second demo soon after must not
    interleave its streams with the first one's (same patient ids)."""
    now = now_us()
    with psycopg.connect(info.reader_dsn) as conn:
        newest = waveform.newest_time(conn)
    if newest is None:
        return now
    after = datetime_to_us(newest) + 2_000_000  # past the last ~1 s chunk
    if after > now:
        print(f"note: earlier signal is stored up to {newest.isoformat()}; this replay starts after it",
              file=sys.stderr)
        return after
    return now


def _planned_patients(opts: DemoOptions, start_us: int) -> list[str]:
    """The patient ids the replay will use (the ingest plans them the same way)."""
    recs = [r for _n, r in load_records(str(opts.records_dir)) if isinstance(r, Recording)]
    return [s.patient for s in plan_streams(recs, opts.patients, seconds=opts.minutes * 60,
                                            loop=False, start_us=start_us)]


def admit_beds(writer_dsn: str, patients: list[str]) -> dict[str, str]:
    """Admit each patient to a free bed ("Bed 01", ...) unless it is admitted already, so the ward
    wall shows the demo's patients; returns patient -> bed."""
    with psycopg.connect(writer_dsn) as conn:
        held = {a.patient_id: a.bed for a in admissions(conn)}
        taken = set(held.values())
        free = (f"Bed {i:02d}" for i in range(1, 10_000) if f"Bed {i:02d}" not in taken)
        for p in patients:
            if p not in held:
                held[p] = admit(conn, next(free), p).bed
    return {p: held[p] for p in patients}


def _wait_stored(
    info: StackInfo, patients: list[str], since: datetime, sent: int, wait_s: float, query: Any
) -> int:
    deadline = time.monotonic() + wait_s
    n = 0
    with psycopg.connect(info.reader_dsn, autocommit=True) as conn:
        while time.monotonic() < deadline:
            n = waveform.sample_count(conn, patients, since)
            if n >= sent:
                return n
            if query.exception() is not None:
                raise RuntimeError(f"raw writer failed: {query.exception()}")
            time.sleep(1.0)
    print(f"warning: only {n} of {sent} samples stored after {wait_s:.0f} s", file=sys.stderr)
    return n


def demo_ok(summary: dict[str, Any]) -> bool:
    """Sent = stored, nothing mismatched or doubled, and the WFDB export bit-exact."""
    return bool(summary["samples_stored"] == summary["samples_sent"]
                and not summary["samples_mismatched"] and not summary["duplicates"]
                and summary["wfdb_export"]["bit_exact"])


def print_summary(summary: dict[str, Any]) -> None:
    width = max(len(k) for k in summary)
    for k, v in summary.items():
        print(f"{k:<{width}}  {v}")


def reference_hr(records_dir: Path, record: str, start: int, n: int) -> float | None:
    """Mean HR (bpm) of the reference beat annotations in record samples [start, start+n)."""
    try:
        ann = wfdb.rdann(str(records_dir / record), "atr")
    except OSError:
        return None
    beat_symbols = set("NLRBAaJSVrFejnE/fQ?")
    idx = np.array([s for s, sym in zip(ann.sample, ann.symbol, strict=True) if sym in beat_symbols])
    idx = idx[(idx >= start) & (idx < start + n)]
    if idx.size < 2:
        return None
    fs = float(ann.fs or 360.0)
    return round(float(60.0 * (idx.size - 1) / ((idx[-1] - idx[0]) / fs)), 1)


def heart_rates(conn: psycopg.Connection, streams: list, records_dir: Path) -> dict[str, dict]:
    """Per patient: our mean HR over the replay (from beats) next to the reference beats' HR."""
    out = {}
    for s in streams:
        # this replay's beats only: a patient id may have been replayed before (a second demo)
        t0 = datetime.fromtimestamp(s.start_us / 1e6, tz=UTC)
        n, first, last = heart_rate.beat_span(
            conn, s.patient, t0, t0 + timedelta(seconds=s.n_total / s.recording.fs))
        ours = None
        if n > 1 and first is not None and last is not None and last > first:
            ours = round(60.0 * (n - 1) / ((last - first) / s.recording.fs), 1)
        span = min(s.n_total, s.recording.n_samples - s.source_offset)
        out[s.patient] = {"ours": ours,
                          "reference": reference_hr(records_dir, s.recording.name,
                                                    s.source_offset, span)}
    return out


def export_check(conn: psycopg.Connection, stream: Any, records_dir: Path, out_dir: Path) -> dict:
    """Export the first patient's replayed signal to WFDB and compare it with the source record:
    the ML teams' path, end to end (broker, Spark, database, export)."""
    fs = stream.recording.fs
    t0 = datetime.fromtimestamp(stream.start_us / 1e6, tz=UTC)
    n = min(stream.n_total, stream.recording.n_samples - stream.source_offset)
    res = export(conn, stream.patient, t0, t0 + timedelta(seconds=n / fs), "wfdb", out_dir)
    got = wfdb.rdrecord(str(res.files[0].with_suffix("")), physical=False)
    src = wfdb.rdrecord(str(records_dir / stream.recording.name), physical=False,
                        sampfrom=stream.source_offset, sampto=stream.source_offset + n)  # fmt: skip
    same = (
        got.d_signal.shape == src.d_signal.shape
        and np.array_equal(got.d_signal, src.d_signal)
        and list(got.adc_gain) == list(src.adc_gain)
        and list(got.baseline) == list(src.baseline)
    )
    return {"record": str(res.files[0].with_suffix("")), "bit_exact": bool(same), "beats": res.beats}
