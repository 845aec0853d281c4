"""``ecgdash dataset export``: a cohort's stored range to a dataset folder or S3 prefix.

The local engine reads unit by unit (one patient-day), page by page (20 minutes of chunks per
query, as binary arrays), on a reader thread with its own connection one page ahead of the
writer: memory holds a page or a grid segment, never the range. The Spark engine
(``ecgdash.spark_jobs.dataset_job``) runs the same unit writer in Spark tasks. Either way the
files go to a temporary location and are published with the manifest last.
"""

from __future__ import annotations

import queue
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import psycopg

from ecgdash.core.clock import check_range, us_to_datetime
from ecgdash.core.dataset import PatientPlan, Unit, plan_units
from ecgdash.core.dataset import manifest as manifest_doc
from ecgdash.core.dataset.layout import FORMATS, LAYOUTS, hive_dir
from ecgdash.core.dataset.tables import signals_table
from ecgdash.core.dataset.unit import Spec, UnitResult, write_unit
from ecgdash.core.errors import ExportError
from ecgdash.core.storage import FileEntry, Store, open_store
from ecgdash.dataset.cohort import Selection, resolve
from ecgdash.timescale import dataset_reads


@dataclass(frozen=True)
class Request:
    start: datetime
    end: datetime
    selection: Selection
    spec: Spec
    out: str  # a folder or s3://bucket/prefix
    review_png: bool = False
    engine: str = "local"  # local | spark

    def describe(self) -> dict[str, Any]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(),
                **self.selection.describe(), "format": self.spec.fmt, "layout": self.spec.layout,
                "window_s": self.spec.window_s if self.spec.layout == "windows" else None,
                "review_png": self.review_png, "out": self.out}  # fmt: skip


@dataclass
class ExportSummary:
    uri: str
    patients: int
    files: int
    samples: int
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    seconds: float = 0.0


def check_request(req: Request) -> None:
    """What can be refused without a database: the range, format, layout and window."""
    check_range(req.start, req.end)
    if req.spec.fmt not in FORMATS:
        raise ExportError(f"unknown format {req.spec.fmt!r}: choose one of {', '.join(FORMATS)}")
    if req.spec.layout not in LAYOUTS:
        raise ExportError(f"unknown layout {req.spec.layout!r}: choose one of {', '.join(LAYOUTS)}")
    if req.spec.fmt == "wfdb" and req.spec.layout != "samples":
        raise ExportError("wfdb writes one record per patient and day: use --layout samples "
                          "(windows: parquet or npz)")
    if req.spec.layout == "windows" and not 0 < req.spec.window_s <= 3600:
        raise ExportError(f"--window {req.spec.window_s} s: give 0 < window <= 3600 s")


def units_of(plan: PatientPlan, spec: Spec, slice_s: float = 86_400.0) -> list[Unit]:
    return plan_units(plan, slice_s, spec.window_s if spec.layout == "windows" else None)


def prefetch(items: Iterator[Any], depth: int = 2) -> Iterator[Any]:
    """`items` produced on a thread, at most `depth` ahead (bounded memory, overlapped I/O)."""
    q: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def run() -> None:
        try:
            for x in items:
                while not stop.is_set():
                    try:
                        q.put(x, timeout=0.2)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put(done)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, raised there
            q.put(exc)

    t = threading.Thread(target=run, daemon=True, name="dataset-reader")
    t.start()
    try:
        while (x := q.get()) is not done:
            if isinstance(x, BaseException):
                raise x
            yield x
    finally:
        stop.set()
        t.join(timeout=30)


def code_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("ecgdashboard")
    except PackageNotFoundError:
        return "unknown"


def run_export(connect: Callable[[], psycopg.Connection], req: Request, *,
               version: str | None = None, progress: Callable[[str], None] | None = None,
               spark: Any = None, reader_dsn: str | None = None) -> ExportSummary:
    """Resolve the cohort, write every unit, publish with the manifest last; ExportError on a
    bad request (nothing is published then, and the temporary files are removed)."""
    import time

    check_request(req)
    t_begin = time.monotonic()
    run_id = uuid.uuid4().hex[:12]
    store = open_store(req.out, run_id)
    with _autocommit(connect()) as conn:
        plans = resolve(conn, req.selection, req.start, req.end)
        store.check_empty()
        try:
            files: list[FileEntry] = []
            counts: dict[str, dict[str, int]] = {}
            if req.spec.fmt == "parquet":
                files += _signals(plans, store)
            if req.engine == "spark":
                from ecgdash.spark_jobs.dataset_job import export_on_spark

                if spark is None or reader_dsn is None:
                    raise ExportError("the spark engine needs a Spark session and the reader DSN")
                results = export_on_spark(spark, reader_dsn, plans, req.spec, store)
            else:
                results = _export_local(conn, connect, plans, req.spec, store, progress)
            for plan, res in results:
                c = counts.setdefault(plan.patient, {"samples": 0, "missing": 0, "windows": 0,
                                                     "beats": 0, "quality": 0, "annotations": 0,
                                                     "alarms": 0, "files": 0})
                c["samples"] += res.samples
                c["missing"] += res.missing
                c["windows"] += res.windows
                c["files"] += len(res.files)
                for k, v in res.labels.items():
                    c[k] += v
                files += res.files
            if req.spec.fmt == "wfdb":
                files.append(_records_file(plans, files, store))
            if req.review_png:
                from ecgdash.dataset.review import write_review

                files += write_review(conn, plans, store)
            doc = manifest_doc.build(req.describe(), [_member(p) for p in plans], counts, files,
                                     version or code_version(),
                                     datetime.now(UTC).isoformat(timespec="seconds"), req.engine)
            store.publish(files, doc)
        except BaseException:
            store.discard()
            raise
    total = sum(c["samples"] for c in counts.values())
    return ExportSummary(store.uri, len({p.patient for p in plans}), len(files) + 1, total, counts,
                         time.monotonic() - t_begin)


def _autocommit(conn: psycopg.Connection) -> psycopg.Connection:
    """Reads outside a transaction: the embedded TimescaleDB serves one session in turn, so an
    idle transaction on one connection would stall the reader thread's (append-only data: each
    page's own snapshot is enough)."""
    conn.autocommit = True
    return conn


def _member(p: PatientPlan) -> dict[str, Any]:
    return {"patient": p.patient, "bed": p.bed or None, "start": us_to_datetime(p.start_us).isoformat(),
            "end": us_to_datetime(p.end_us).isoformat(), "fs": p.fs,
            "leads": [x.name for x in p.leads]}


def _signals(plans: list[PatientPlan], store: Store) -> list[FileEntry]:
    import pyarrow.parquet as pq

    out = []
    for p in {p.patient: p for p in plans}.values():
        rel = f"{hive_dir('signals', p.patient)}/part-0.parquet"
        pq.write_table(signals_table(p), store.path(rel), store_schema=False)
        out.append(store.commit(rel))
    return out


def _records_file(plans: list[PatientPlan], files: list[FileEntry], store: Store) -> FileEntry:
    """WFDB's RECORDS: one line per record (``<P>/<P>_<YYYYMMDD>``)."""
    names = sorted(f.path[: -len(".hea")] for f in files if f.path.endswith(".hea"))
    store.path("RECORDS").write_text("".join(f"{n}\n" for n in names))
    return store.commit("RECORDS")


def _export_local(conn: psycopg.Connection, connect: Callable[[], psycopg.Connection],
                  plans: list[PatientPlan], spec: Spec, store: Store,
                  progress: Callable[[str], None] | None) -> list[tuple[PatientPlan, UnitResult]]:
    work = [(plan, unit) for plan in plans for unit in units_of(plan, spec)]
    out = []
    with _autocommit(connect()) as rconn:
        def blocks() -> Iterator[tuple[int, Any]]:
            for i, (plan, unit) in enumerate(work):
                for b in dataset_reads.pages(rconn, plan, unit):
                    yield i, b
                yield i, None  # end of unit

        stream = prefetch(blocks())
        for i, (plan, unit) in enumerate(work):
            def unit_pages(i: int = i) -> Iterator[Any]:
                for j, b in stream:
                    assert j == i, "reader and writer out of step"
                    if b is None:
                        return
                    yield b

            labels = dataset_reads.labels(conn, plan, unit)
            res = write_unit(plan, unit, spec, unit_pages(), labels, store)
            out.append((plan, res))
            if progress:
                progress(f"{plan.patient} {unit.day} {unit.part}: {res.samples} samples")
    return out
