"""``ecgdash spark raw-writer|hr-job|alarm-job|pipeline``: run one streaming job (or, with
``pipeline``, the raw writer and the alarm job, which stores the beats too, as queries of one
Spark session: one JVM and one set of Python workers, each query in its own FAIR pool; with
``ECG_ALARM_WRITES_BEATS=false`` the heart-rate job as a third) until stopped, restarting a failed
query.

A query that fails (a database outage longer than the writer's own retry, a broker that went
away, a bug) is restarted from its checkpoint with backoff (10 s, doubling, at most
``ECG_RESTART_BACKOFF_MAX_S``), with the settings and secrets read again, so a rotated password
or a moved endpoint is picked up. SIGTERM/SIGINT stop it for good. A query that fails for a
reason a restart cannot fix (its offsets are gone and ``ECG_FAIL_ON_DATA_LOSS`` is true) stops
with exit code 1 and says why.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import threading
import time
from typing import Any

from ecgdash.cli.endpoints import bootstrap, kafka_security, writer_dsn
from ecgdash.settings import Settings
from ecgdash.spark_jobs.alarm_job import start_alarm_job
from ecgdash.spark_jobs.hr_job import start_hr_job
from ecgdash.spark_jobs.raw_writer import start_raw_writer
from ecgdash.spark_jobs.session import make_spark

log = logging.getLogger("ecgdash.spark")
progress_log = logging.getLogger("ecgdash.spark.progress")
FATAL = ("DataLossError", "ReplayMismatch")  # a restart would fail the same way


def _start(job: str, s: Settings, available_now: bool) -> tuple[Any, Any]:
    spark = make_spark(s.spark_master, f"ecgdash-{job}", s.spark_shuffle_partitions,
                       s.spark_state_store)
    common = {
        "bootstrap": bootstrap(s), "topic": s.topic, "writer_dsn": writer_dsn(s),
        "source_format": s.kafka_format, "available_now": available_now,
        "max_offsets_per_trigger": s.max_offsets_per_trigger, "security": kafka_security(s),
        "fail_on_data_loss": s.fail_on_data_loss,
        "exit_after_commit": s.fault_exit_after_commit,
    }
    if job == "raw-writer":
        return start_raw_writer(spark, dlq_topic=s.dlq_topic, checkpoint=s.checkpoint("raw_writer"),
                                trigger_s=s.raw_trigger_s, **common)
    if job == "alarm-job":
        return start_alarm_job(spark, checkpoint=s.checkpoint("alarm_job"),
                               trigger_s=s.alarm_trigger_s, beats=s.alarm_writes_beats,
                               groups=s.alarm_groups, **common)
    return start_hr_job(spark, checkpoint=s.checkpoint("hr_job"), trigger_s=s.hr_trigger_s, **common)


JOBS = ("raw-writer", "hr-job", "alarm-job")
_STARTING = threading.Lock()
_PROGRESS = "ecgdash.spark.progress: progress "  # what a progress line holds before "<job> {json}"


def pipeline_jobs(s: Settings) -> tuple[str, ...]:
    """The queries of `ecgdash spark pipeline`: the raw writer and the alarm job, which stores the
    beats too (ECG_ALARM_WRITES_BEATS, the default); otherwise the heart-rate job as well."""
    return ("raw-writer", "alarm-job") if s.alarm_writes_beats else JOBS


def run_supervised(job: str, s: Settings, available_now: bool = False,
                   settings_factory: Any = Settings) -> int:
    """Run `job` ("pipeline" = the jobs of `pipeline_jobs` in one Spark session), restarting a
    query after a failure; 0 when stopped or done, 1 on a fatal error."""
    jobs = pipeline_jobs(s) if job == "pipeline" else (job,)
    stopping = threading.Event()
    current: dict[str, Any] = {}
    lock = threading.Lock()

    def _stop(signum: int, frame: Any) -> None:
        stopping.set()
        with lock:
            queries = list(current.values())
        for q in queries:
            _stop_quietly(q)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    if progress_log.isEnabledFor(logging.INFO):
        threading.Thread(target=_report_progress, args=(current, lock, stopping,
                                                        s.progress_interval_s),
                         name="ecgdash-progress", daemon=True).start()
    if len(jobs) == 1:
        return _supervise(jobs[0], s, available_now, settings_factory, stopping, current, lock)
    # one session, one query per job, each restarted on its own (a failed alarm query does not
    # stop the raw writer); the first fatal error stops them all
    codes: dict[str, int] = {}

    def _run(name: str) -> None:
        codes[name] = _supervise(name, s, available_now, settings_factory, stopping, current, lock)
        if codes[name] != 0:
            _stop(0, None)

    threads = [threading.Thread(target=_run, args=(name,), name=f"ecgdash-{name}", daemon=True)
               for name in jobs]
    for t in threads:
        t.start()
    for t in threads:
        while t.is_alive():
            t.join(0.5)  # the main thread stays free for the signal handler
    return max(codes.values(), default=0)


def _supervise(job: str, s: Settings, available_now: bool, settings_factory: Any,
               stopping: threading.Event, current: dict[str, Any], lock: threading.Lock) -> int:
    delay = 10.0
    while not stopping.is_set():
        started = time.monotonic()
        with _STARTING:  # one session for all: built (getOrCreate) by one thread at a time
            query, writer = _start(job, s, available_now)
        with lock:
            current[job] = query
        if stopping.is_set():  # a stop that came while the query was starting
            _stop_quietly(query)
        try:
            query.awaitTermination()
            error = None
        except Exception as exc:  # StreamingQueryException: the batch's own error is inside
            error = exc
        finally:
            writer.close()
            with lock:
                current.pop(job, None)
        if error is None or stopping.is_set():
            return 0
        text = str(error)
        if any(name in text for name in FATAL):
            log.error("%s stopped: %s", job, text.splitlines()[0] if text else error)
            print(f"ecgdash: error: {job} stopped: {_first_reason(text)}")
            return 1
        if time.monotonic() - started > 3600:
            delay = 10.0  # it ran for an hour: healthy; start the backoff again
        log.error("%s failed (%s); restarting in %.0f s", job, _first_reason(text), delay)
        print(f"ecgdash: {job} failed: {_first_reason(text)}; restarting in {delay:.0f} s", flush=True)
        if stopping.wait(delay):
            return 0
        delay = min(delay * 2, s.restart_backoff_max_s)
        s = settings_factory()  # secrets and endpoints read again
    return 0


def progress_summary(progress: list[Any], after_batch: int) -> dict[str, Any] | None:
    """Batches after ``after_batch`` of a query's ``recentProgress``: how many, their trigger
    durations (p50/max, ms, Spark's ``durationMs.triggerExecution``) and of the sink
    (``addBatch``), input rows and the newest batch id; None if there are none."""
    new = [p for p in progress if p.batchId > after_batch]
    if not new:
        return None
    trig = sorted(int(p.durationMs.get("triggerExecution", 0)) for p in new)
    add = sorted(int(p.durationMs.get("addBatch", 0)) for p in new)
    return {"batches": len(new), "last_batch": max(p.batchId for p in new),
            "trigger_ms_p50": trig[len(trig) // 2], "trigger_ms_max": trig[-1],
            "add_batch_ms_p50": add[len(add) // 2], "add_batch_ms_max": add[-1],
            "input_rows": sum(int(p.numInputRows) for p in new)}


def parse_progress(line: str) -> tuple[str, dict[str, Any]] | None:
    """(job, summary) of a progress line in a job's log (``ECG_LOG_LEVEL=INFO``), else None."""
    if _PROGRESS not in line:
        return None
    job, doc = line.split(_PROGRESS, 1)[1].split(" ", 1)
    return job, json.loads(doc)


def _report_progress(current: dict[str, Any], lock: threading.Lock, stopping: threading.Event,
                     interval_s: float) -> None:
    """One INFO line per running query every ``interval_s``: ``progress <job> {json}``."""
    seen: dict[str, int] = {}
    while not stopping.wait(interval_s):
        with lock:
            running = dict(current)
        for job, query in running.items():
            try:
                summary = progress_summary(list(query.recentProgress), seen.get(job, -1))
            except Exception:  # noqa: BLE001 - a query stopping under us: next time
                log.debug("no progress of %s", job, exc_info=True)
                continue
            if summary is not None:
                seen[job] = summary["last_batch"]
                progress_log.info("progress %s %s", job, json.dumps(summary))


def _stop_quietly(query: Any) -> None:
    try:
        query.stop()
    except Exception:  # noqa: BLE001 - the JVM got the signal too and may be gone already
        log.debug("query already stopped", exc_info=True)


def _first_reason(text: str) -> str:
    for line in text.splitlines():
        line = line.strip()
        if "Error" in line or "error" in line:
            return line[:300]
    return text.strip().splitlines()[0][:300] if text.strip() else "unknown error"


def cmd_spark(args: argparse.Namespace, s: Settings) -> int:
    return run_supervised(args.job, s, args.available_now)


def add_parser(sub: argparse._SubParsersAction) -> None:
    sp = sub.add_parser("spark", help="run a Spark streaming job (restarted after failures)")
    sp.add_argument("job", choices=[*JOBS, "pipeline"],
                    help="one job in its own Spark session, or `pipeline`: raw-writer and alarm-job "
                    "(beats included; hr-job too if ECG_ALARM_WRITES_BEATS=false) in one session")
    sp.add_argument("--available-now", action="store_true",
                    help="process what the topic holds now, then stop")
    sp.set_defaults(func=cmd_spark)
