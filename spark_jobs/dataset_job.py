"""The Spark engine of ``ecgdash dataset export``: the database read in parallel, partitioned by
patient and time, and each partition written straight to the dataset (a folder or S3) by the
task that read it.

* Read: ``format("ecgdataset")``, a Spark Python data source whose partitions are the export's
  units (one patient-hour for Parquet, one patient-day for a WFDB/npz record). A task reads its
  unit page by page with psycopg (parameterised queries, binary arrays) and yields Arrow
  batches of chunk rows. Why not Spark's JDBC source: it takes no bind parameters, so the cohort
  and range would be formatted into SQL predicates (the project forbids that) or carried in
  startup options (PostgreSQL caps the startup packet at 10 kB: ~150 patient ids); and pgjdbc
  boxes every array element. The Python source reads the same way as the local engine.
* Write: ``mapInArrow`` runs the dataset format's unit writer on each partition's batches and
  commits its files to the store's temporary location (S3 from the executors, with pyarrow and
  boto3: this Spark has no ``s3a`` connector); it returns one row per file with its size and
  SHA-256. The driver publishes them with the manifest last.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict
from datetime import timedelta
from typing import Any

import numpy as np
import psycopg
import pyarrow as pa
from pyspark.sql import SparkSession
from pyspark.sql.datasource import DataSource, DataSourceReader, InputPartition

from ecgdash.core.clock import us_to_datetime
from ecgdash.core.dataset import ChunkBlock, PatientPlan, Unit, parse_arrays, plan_units
from ecgdash.core.dataset.layout import LeadInfo
from ecgdash.core.dataset.unit import Spec, UnitResult, write_unit
from ecgdash.core.storage import FileEntry, Store
from ecgdash.timescale import dataset_reads, waveform

SOURCE = "ecgdataset"
CHUNK_SCHEMA = "unit int, signal_index smallint, time_us long, sample_index long, samples binary"
RESULT_SCHEMA = ("unit long, path string, bytes long, sha256 string, samples long, missing long, "
                 "windows long, beats long, quality long, annotations long, alarms long")
SLICE_S = {"parquet": 3600.0, "wfdb": 86_400.0, "npz": 86_400.0}  # a task's share of a day


def _plan_doc(p: PatientPlan) -> dict:
    return {**asdict(p), "leads": [asdict(x) for x in p.leads]}


def _plan_of(d: dict) -> PatientPlan:
    return PatientPlan(**{**d, "leads": tuple(LeadInfo(**x) for x in d["leads"])})


class _UnitPartition(InputPartition):
    def __init__(self, unit: int) -> None:
        super().__init__(unit)
        self.unit = unit


class DatasetSource(DataSource):
    """Chunk rows of the export's units. Options: ``secret.dsn`` (the reader's DSN; the key
    matches Spark's redaction pattern, so plans and logs do not show it) and ``work``
    (JSON: plans and units)."""

    @classmethod
    def name(cls) -> str:
        return SOURCE

    def schema(self) -> str:
        return CHUNK_SCHEMA

    def reader(self, schema: Any) -> DataSourceReader:
        return _Reader(self.options["secret.dsn"], json.loads(self.options["work"]))


class _Reader(DataSourceReader):
    def __init__(self, dsn: str, work: dict) -> None:
        self.dsn, self.work = dsn, work

    def partitions(self) -> list[InputPartition]:
        return [_UnitPartition(i) for i in range(len(self.work["units"]))]

    def read(self, partition: InputPartition) -> Iterator[pa.RecordBatch]:
        i = partition.unit  # type: ignore[attr-defined]
        pi, t0, t1 = self.work["units"][i]
        plan = _plan_of(self.work["plans"][pi])
        with psycopg.connect(self.dsn, prepare_threshold=None, autocommit=True) as conn:
            start = us_to_datetime(t0) - dataset_reads.slack(plan.fs)
            t, end = start, us_to_datetime(t1)
            step = timedelta(seconds=dataset_reads.PAGE_S)
            while t < end:
                nxt = min(t + step, end)
                rows = waveform.chunk_rows(conn, plan.patient, t, nxt)
                if rows:
                    sig, tus, idx, bufs = zip(*rows, strict=True)
                    yield pa.RecordBatch.from_arrays(
                        [pa.array(np.full(len(rows), i, np.int32)), pa.array(np.asarray(sig, np.int16)),
                         pa.array(np.asarray(tus, np.int64)), pa.array(np.asarray(idx, np.int64)),
                         pa.array(bufs, pa.binary())],
                        names=["unit", "signal_index", "time_us", "sample_index", "samples"])  # fmt: skip
                t = nxt


def _blocks(batches: Iterator[pa.RecordBatch]) -> Iterator[tuple[int, ChunkBlock]]:
    for b in batches:
        if b.num_rows == 0:
            continue
        units = b.column("unit").to_numpy()
        lengths, values = parse_arrays(b.column("samples").to_pylist())
        yield int(units[0]), ChunkBlock(
            b.column("signal_index").to_numpy().astype(np.int16), b.column("time_us").to_numpy(),
            b.column("sample_index").to_numpy(), lengths, values)


def _rows(unit: int, res: UnitResult) -> pa.RecordBatch:
    n = len(res.files)
    lab = res.labels
    cols = {"unit": [unit] * n, "path": [f.path for f in res.files],
            "bytes": [f.bytes for f in res.files], "sha256": [f.sha256 for f in res.files]}
    # a unit's counts ride on its first file's row
    for k, v in (("samples", res.samples), ("missing", res.missing), ("windows", res.windows),
                 *((k, lab.get(k, 0)) for k in ("beats", "quality", "annotations", "alarms"))):
        cols[k] = [v] + [0] * (n - 1)
    return pa.RecordBatch.from_pydict(cols)


def _writer(dsn: str, work: dict, spec: Spec, store: Store):  # noqa: ANN202 - mapInArrow's function
    plans = [_plan_of(d) for d in work["plans"]]

    def write(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        blocks = _blocks(batches)
        pending = next(blocks, None)
        with psycopg.connect(dsn, prepare_threshold=None, autocommit=True) as conn:
            while pending is not None:
                unit_id = pending[0]
                pi, t0, t1 = work["units"][unit_id]
                plan, unit = plans[pi], Unit(plans[pi].patient, t0, t1)

                def pages(uid: int = unit_id) -> Iterator[ChunkBlock]:
                    nonlocal pending
                    while pending is not None and pending[0] == uid:
                        yield pending[1]
                        pending = next(blocks, None)

                res = write_unit(plan, unit, spec, pages(), dataset_reads.labels(conn, plan, unit), store)
                for _ in pages():  # a writer that stopped early: drain its unit
                    pass
                if res.files:
                    yield _rows(unit_id, res)

    return write


def export_on_spark(spark: SparkSession, dsn: str, plans: list[PatientPlan], spec: Spec,
                    store: Store) -> list[tuple[PatientPlan, UnitResult]]:
    """Write every unit of `plans` in Spark tasks; returns each unit's files and counts (a unit
    without any stored chunk is written by the driver, as the local engine would)."""
    slice_s = SLICE_S[spec.fmt]
    units = [(pi, u) for pi, p in enumerate(plans)
             for u in plan_units(p, slice_s, spec.window_s if spec.layout == "windows" else None)]
    work = {"plans": [_plan_doc(p) for p in plans],
            "units": [[pi, u.t0_us, u.t1_us] for pi, u in units]}
    spark.dataSource.register(DatasetSource)
    df = (spark.read.format(SOURCE).option("secret.dsn", dsn).option("work", json.dumps(work))
          .load())  # fmt: skip
    rows = df.mapInArrow(_writer(dsn, work, spec, store), RESULT_SCHEMA).collect()
    results: dict[int, UnitResult] = {}
    for r in rows:
        res = results.setdefault(r["unit"], UnitResult(labels={}))
        res.files.append(FileEntry(r["path"], r["bytes"], r["sha256"]))
        res.samples += r["samples"]
        res.missing += r["missing"]
        res.windows += r["windows"]
        for k in ("beats", "quality", "annotations", "alarms"):
            res.labels[k] = res.labels.get(k, 0) + r[k]
    out = []
    with psycopg.connect(dsn, prepare_threshold=None, autocommit=True) as conn:
        for i, (pi, u) in enumerate(units):
            plan = plans[pi]
            if i not in results:
                results[i] = write_unit(plan, u, spec, iter(()), dataset_reads.labels(conn, plan, u),
                                        store)
            out.append((plan, results[i]))
    return out
