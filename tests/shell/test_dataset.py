"""Cohort exports (``ecgdash dataset export``), on both database modes: a 100-patient cohort over
a UTC midnight, stored the way the jobs store it, comes back bit-exact in every format and
layout (against an independent read of the database and against the source records), with its
labels; the manifest verifies and catches a changed file; S3 through moto_server; a failed
export publishes nothing; each bad request is one line."""

from __future__ import annotations

import json
from datetime import timedelta
from functools import partial
from pathlib import Path

import numpy as np
import psycopg
import pytest

from ecgdash.core.clock import datetime_to_us, us_to_datetime
from ecgdash.core.dataset import INVALID
from ecgdash.core.dataset.manifest import verify
from ecgdash.core.dataset.unit import Spec
from ecgdash.core.errors import ExportError
from ecgdash.core.storage import open_store
from ecgdash.dataset.cohort import Selection
from ecgdash.dataset.export import Request, run_export
from ecgdash.timescale import waveform
from tests.helpers import Db
from tests.helpers.cohort import FS, Cohort, store_cohort

pytestmark = pytest.mark.integration
N, SECONDS = 100, 40


@pytest.fixture(scope="module")
def cohorts() -> dict:
    return {}


def cohort(db: Db, cache: dict) -> Cohort:
    if db.mode not in cache:
        cache[db.mode] = store_cohort(db.writer, N, SECONDS)
    return cache[db.mode]


def export(db: Db, c: Cohort, out: str, fmt: str = "parquet", layout: str = "samples",
           sel: Selection | None = None, **kw) -> object:
    t0 = us_to_datetime(c.start_us)
    req = Request(t0, t0 + timedelta(seconds=SECONDS), sel or Selection(tuple(c.patients)),
                  Spec(fmt, layout, kw.pop("window_s", 10.0)), out, **kw)
    return run_export(partial(psycopg.connect, db.reader), req)


def dense(c: Cohort, p: str) -> np.ndarray:
    """What the grid of patient `p` must hold: the source samples, -32768 in the gap."""
    want = c.adc[p].astype(np.int16).copy()
    if p in c.gap:
        a, b = c.gap[p]
        want[a:b] = INVALID
    return want


def db_samples(db: Db, p: str, c: Cohort) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """An independent read of the database (text arrays, one Python int per sample): per lead,
    (time µs, adc) of every stored sample."""
    t0 = us_to_datetime(c.start_us)
    out: dict[int, list] = {}
    with psycopg.connect(db.reader) as conn:
        for sig, t, samples in waveform.page(conn, p, t0, t0 + timedelta(seconds=SECONDS)):
            us = datetime_to_us(t) + np.round(np.arange(len(samples)) * 1e6 / FS).astype(np.int64)
            out.setdefault(sig, []).append((us, np.asarray(samples, np.int16)))
    return {s: (np.concatenate([u for u, _ in v]), np.concatenate([a for _, a in v]))
            for s, v in out.items()}


def test_parquet_samples_bit_exact_and_one_table(db: Db, cohorts: dict, tmp_path: Path, spark) -> None:
    import pyarrow.dataset as pds

    c = cohort(db, cohorts)
    out = tmp_path / "pq"
    res = export(db, c, str(out))
    assert res.patients == N and res.samples == sum(
        dense(c, p).size - (2 * 360 if p in c.gap else 0) for p in c.patients)
    doc, problems = verify(open_store(str(out), "v"))
    assert problems == [] and doc["totals"]["samples"] == res.samples
    table = pds.dataset(out / "samples", format="parquet", partitioning="hive").to_table()
    assert table.num_rows == res.samples
    days = sorted(set(table.column("date").to_pylist()))
    assert days == ["2024-05-02", "2024-05-03"]
    by_patient = table.sort_by([("patient_id", "ascending"), ("signal_index", "ascending"),
                                ("time", "ascending")])
    pid = by_patient.column("patient_id").to_numpy(zero_copy_only=False)
    for p in (c.patients[0], c.patients[7], c.patients[-1]):  # the gap, a ':' id, the last
        rows = by_patient.filter(pid == p)
        want = db_samples(db, p, c)
        for sig, (us, adc) in want.items():
            mine = rows.filter(rows.column("signal_index").to_numpy() == sig)
            np.testing.assert_array_equal(mine.column("adc").to_numpy(), adc)
            np.testing.assert_array_equal(mine.column("time").cast("int64").to_numpy(), us)
            # and the source record (what ingest sent), less the gap
            keep = dense(c, p)[:, sig] != INVALID if p in c.gap else slice(None)
            np.testing.assert_array_equal(adc, c.adc[p][:, sig][keep])
    # every patient: per-lead counts and a checksum against the source
    for p in c.patients:
        rows = by_patient.filter(pid == p)
        d = dense(c, p)
        assert rows.num_rows == int((d != INVALID).sum())
        assert int(rows.column("adc").to_numpy().astype(np.int64).sum()) == int(
            d[d != INVALID].astype(np.int64).sum())
    # one table for pandas, Spark and polars, the exact ids in patient_id
    import pandas as pd

    frame = pd.read_parquet(out / "samples")
    assert len(frame) == res.samples and set(frame["patient_id"]) == set(c.patients)
    sdf = spark.read.parquet(str(out / "samples"))
    assert sdf.count() == res.samples
    assert {r[0] for r in sdf.select("patient_id").distinct().collect()} == set(c.patients)
    assert dict(sdf.dtypes)["adc"] == "smallint" and dict(sdf.dtypes)["time"] == "timestamp"
    polars = pytest.importorskip("polars")
    lf = polars.scan_parquet(str(out / "samples" / "**" / "*.parquet"), hive_partitioning=True)
    assert lf.select(polars.len()).collect().item() == res.samples
    # labels: annotations and beats as stored
    ann = pds.dataset(out / "annotations", format="parquet", partitioning="hive").to_table()
    assert ann.num_rows == sum(c.annotations.values())
    beats = pds.dataset(out / "beats", format="parquet", partitioning="hive").to_table()
    assert beats.num_rows == sum(len(v) for v in c.beats.values())
    alarms = pds.dataset(out / "alarms", format="parquet", partitioning="hive").to_table()
    assert set(alarms.column("kind").to_pylist()) == {"tachycardia"}


def test_wfdb_and_npz_bit_exact(db: Db, cohorts: dict, tmp_path: Path) -> None:
    import wfdb

    c = cohort(db, cohorts)
    export(db, c, str(tmp_path / "wfdb"), "wfdb")
    export(db, c, str(tmp_path / "npz"), "npz")
    records = (tmp_path / "wfdb" / "RECORDS").read_text().split()
    assert len(records) == 2 * N  # a record per patient and day
    for k, p in enumerate(c.patients):
        name = p.replace(".", "-").replace(":", "-")
        days = sorted(r for r in records if r.startswith(f"{name}/"))
        recs = [wfdb.rdrecord(str(tmp_path / "wfdb" / r), physical=False) for r in days]
        got = np.concatenate([r.d_signal for r in recs])
        np.testing.assert_array_equal(got, dense(c, p))
        assert recs[0].fs == FS and recs[0].base_date.isoformat() == "2024-05-02"
        assert recs[1].base_time.isoformat() == "00:00:00"
        npz = [np.load(tmp_path / "npz" / f"{r}.npz") for r in days]
        np.testing.assert_array_equal(np.concatenate([z["adc"] for z in npz]), dense(c, p))
        assert int(sum((~z["valid"]).sum() for z in npz)) == int((dense(c, p) == INVALID).sum())
        if k < 3:  # our beats and the expert annotations line up with the samples
            qrs = [wfdb.rdann(str(tmp_path / "wfdb" / r), "qrs") for r in days]
            at = np.concatenate([a.sample + i * len(recs[0].d_signal) for i, a in enumerate(qrs)])
            np.testing.assert_array_equal(at, c.beats[p])
            np.testing.assert_array_equal(np.concatenate([z["beats"] + i * len(npz[0]["adc"])
                                                          for i, z in enumerate(npz)]), c.beats[p])
        atr = [wfdb.rdann(str(tmp_path / "wfdb" / r), "atr") for r in days
               if (tmp_path / "wfdb" / f"{r}.atr").exists()]
        assert sum(len(a.sample) for a in atr) == c.annotations.get(p, 0)
    assert verify(open_store(str(tmp_path / "wfdb"), "v"))[1] == []


def test_windows_bit_exact_with_labels(db: Db, cohorts: dict, tmp_path: Path) -> None:
    import pyarrow.dataset as pds

    c = cohort(db, cohorts)
    export(db, c, str(tmp_path / "w"), "parquet", "windows", window_s=5.0)
    export(db, c, str(tmp_path / "wn"), "npz", "windows", window_s=5.0)
    t = pds.dataset(tmp_path / "w" / "windows", format="parquet", partitioning="hive").to_table()
    assert t.num_rows == N * SECONDS // 5
    rows = {(r["patient_id"], r["sample_index"]): r for r in t.select(
        ["patient_id", "sample_index", "adc", "n_missing", "beat_offsets", "ann_symbols"]).to_pylist()}
    L = 5 * FS
    for p in c.patients[:8]:
        d = dense(c, p)
        name = p.replace(".", "-").replace(":", "-")
        z = np.load(tmp_path / "wn" / name / f"{name}_20240502_windows.npz")
        for w in range(SECONDS // 5):
            r = rows[(p, w * L)]
            np.testing.assert_array_equal(np.array(r["adc"], np.int16), d[w * L : (w + 1) * L].T)
            assert r["n_missing"] == int((d[w * L : (w + 1) * L] == INVALID).sum())
            if p in c.beats:
                b = c.beats[p]
                want = b[(b >= w * L) & (b < (w + 1) * L)] - w * L
                assert r["beat_offsets"] == want.tolist()
        # the npz of the first day: windows starting 23:59:30 .. 23:59:55
        np.testing.assert_array_equal(z["adc"], d[: 6 * L].reshape(6, L, 2).transpose(0, 2, 1))
    assert verify(open_store(str(tmp_path / "w"), "v"))[1] == []


def test_s3_export_through_moto(pg_native: Db, cohorts: dict, s3_endpoint: str, tmp_path: Path) -> None:
    import boto3
    import pyarrow.dataset as pds

    c = cohort(pg_native, cohorts)
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="ml-datasets")
    # ten patients: every file is uploaded, copied and deleted once (moto takes ~40 ms a call)
    res = export(pg_native, c, "s3://ml-datasets/ward3/v1", "parquet",
                 sel=Selection(tuple(c.patients[:10])))
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="ml-datasets")["Contents"]]
    assert all(k.startswith("ward3/v1/") for k in keys), "the temporary prefix is gone"
    doc, problems = verify(open_store("s3://ml-datasets/ward3/v1", "v"))
    assert problems == [] and len(doc["files"]) == len(keys) - 1
    local = tmp_path / "down"
    for k in keys:
        (local / k).parent.mkdir(parents=True, exist_ok=True)
        s3.download_file("ml-datasets", k, str(local / k))
    t = pds.dataset(local / "ward3/v1/samples", format="parquet", partitioning="hive").to_table()
    assert t.num_rows == res.samples
    # a changed object is caught
    one = next(k for k in keys if k.endswith(".parquet") and "/samples/" in k)
    s3.put_object(Bucket="ml-datasets", Key=one, Body=b"not parquet")
    problems = verify(open_store("s3://ml-datasets/ward3/v1", "v"))[1]
    assert problems == [f"changed: {one[len('ward3/v1/'):]} (11 bytes, sha256 "
                        f"{__import__('hashlib').sha256(b'not parquet').hexdigest()[:12]}; manifest "
                        + problems[0].split("manifest ")[1]]


def test_beds_cohort_and_failed_export_publishes_nothing(pg_native: Db, cohorts: dict,
                                                         tmp_path: Path, monkeypatch) -> None:
    from ecgdash.core import storage

    c = cohort(pg_native, cohorts)
    beds = (c.bed_of[c.patients[3]], c.bed_of[c.patients[4]])
    res = export(pg_native, c, str(tmp_path / "beds"), sel=Selection(beds=beds))
    assert res.patients == 2
    doc = json.loads((tmp_path / "beds" / "manifest.json").read_text())
    assert [m["bed"] for m in doc["cohort"]] == list(beds)
    assert doc["query"]["beds"] == list(beds) and doc["schema_version"] == 1
    calls = []

    def failing(self, rel):  # the disk fills up at the fifth file
        calls.append(rel)
        if len(calls) == 5:
            raise OSError(28, "No space left on device")
        return real(self, rel)

    real = storage.LocalStore.commit
    monkeypatch.setattr(storage.LocalStore, "commit", failing)
    with pytest.raises(OSError):
        export(pg_native, c, str(tmp_path / "partial"))
    assert not (tmp_path / "partial").exists() and list(tmp_path.glob(".partial*")) == []
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_bad_requests_are_one_line(pg_native: Db, cohorts: dict, tmp_path: Path, s3_endpoint: str,
                                   capsys) -> None:
    from ecgdash.cli.main import main

    c = cohort(pg_native, cohorts)
    t0 = us_to_datetime(c.start_us)
    cases = [
        (Selection(("nobody", c.patients[0], "ghost")), t0, 10, None, "unknown patients: nobody, ghost"),
        (Selection(beds=("Bed 999",)), t0, 10, None, "unknown bed: Bed 999"),
        (Selection((c.patients[0],)), t0 - timedelta(days=3), 10, None, "empty cohort: no stored samples"),
        (Selection((c.patients[0],)), t0, -5, None, "empty or inverted range"),
        (Selection((c.patients[0],)), t0, 10, "s3://no-such-bucket/x", "cannot reach bucket s3://no-such-bucket"),
    ]
    for sel, start, secs, out, msg in cases:
        req = Request(start, start + timedelta(seconds=secs), sel, Spec("parquet", "samples"),
                      out or str(tmp_path / "x"))
        with pytest.raises(ExportError) as e:
            run_export(partial(psycopg.connect, pg_native.reader), req)
        assert msg in str(e.value) and "\n" not in str(e.value), str(e.value)
    # a window shorter than one sample: once a bare ValueError out of the planning (a traceback)
    with pytest.raises(ExportError, match=r"--window 0.001 s holds no sample at \d+ Hz"):
        run_export(partial(psycopg.connect, pg_native.reader),
                   Request(t0, t0 + timedelta(seconds=5), Selection((c.patients[0],)),
                           Spec("parquet", "windows", 0.001), str(tmp_path / "w")))
    with pytest.raises(ExportError, match="wfdb writes one record per patient and day"):
        run_export(partial(psycopg.connect, pg_native.reader),
                   Request(t0, t0 + timedelta(seconds=5), Selection((c.patients[0],)),
                           Spec("wfdb", "windows"), str(tmp_path / "y")))
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "f").write_text("x")
    with pytest.raises(ExportError, match="exists and is not an empty folder"):
        export(pg_native, c, str(tmp_path / "full"))
    # through the CLI: exit 1, one line on stderr (the stack's DSN comes from the settings)
    monkeypatch_env = {"ECG_DB_MODE": "external", "ECG_DB_ADMIN_DSN": pg_native.admin,
                       "ECG_DB_WRITER_DSN": pg_native.writer, "ECG_DB_READER_DSN": pg_native.reader,
                       "ECG_KAFKA_BOOTSTRAP": "127.0.0.1:1"}
    import os
    old = {k: os.environ.get(k) for k in monkeypatch_env}
    os.environ.update(monkeypatch_env)
    try:
        rc = main(["dataset", "export", "--patients", "ghost", "--start", t0.isoformat(), "--end",
                   (t0 + timedelta(seconds=5)).isoformat(), "--out", str(tmp_path / "z")])
    finally:
        for k, v in old.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1 and err == ["ecgdash: error: unknown patient: ghost"]


def test_spark_engine_writes_the_same_dataset(pg_native: Db, cohorts: dict, tmp_path: Path,
                                              spark) -> None:
    """The Spark engine (data source partitioned by patient-hour, tasks writing their files)
    gives the same table as the local engine, and its manifest verifies."""
    import pyarrow.dataset as pds

    c = cohort(pg_native, cohorts)
    sel = Selection(tuple(c.patients[:20]))
    local = export(pg_native, c, str(tmp_path / "local"), sel=sel)
    t0 = us_to_datetime(c.start_us)
    req = Request(t0, t0 + timedelta(seconds=SECONDS), sel, Spec("parquet", "samples"),
                  str(tmp_path / "spark"), engine="spark")
    res = run_export(partial(psycopg.connect, pg_native.reader), req, spark=spark,
                     reader_dsn=pg_native.reader)
    assert res.samples == local.samples
    assert verify(open_store(str(tmp_path / "spark"), "v"))[1] == []
    key = [("patient_id", "ascending"), ("signal_index", "ascending"), ("time", "ascending")]
    a, b = (pds.dataset(tmp_path / d / "samples", format="parquet", partitioning="hive")
            .to_table().sort_by(key) for d in ("local", "spark"))
    assert a.equals(b)
    doc = json.loads((tmp_path / "spark" / "manifest.json").read_text())
    assert doc["engine"] == "spark" and doc["counts"] == json.loads(
        (tmp_path / "local" / "manifest.json").read_text())["counts"]
    # a record format through Spark: one task per patient-day
    req = Request(t0, t0 + timedelta(seconds=SECONDS), Selection(tuple(c.patients[:4])),
                  Spec("npz", "samples"), str(tmp_path / "spark-npz"), engine="spark")
    run_export(partial(psycopg.connect, pg_native.reader), req, spark=spark, reader_dsn=pg_native.reader)
    for p in c.patients[:4]:
        name = p.replace(".", "-").replace(":", "-")
        got = np.concatenate([np.load(tmp_path / "spark-npz" / name / f"{name}_{d}.npz")["adc"]
                              for d in ("20240502", "20240503")])
        np.testing.assert_array_equal(got, dense(c, p))


def test_review_png_per_alarm(pg_native: Db, cohorts: dict, tmp_path: Path) -> None:
    """A strip per alarm event with its onset in range: ECG paper at 25 mm/s and 10 mm/mV (10 s
    = 250 mm wide at 200 dpi), listed in the manifest."""
    from PIL import Image

    c = cohort(pg_native, cohorts)
    export(pg_native, c, str(tmp_path / "r"), "npz", sel=Selection(tuple(c.patients[:5])),
           review_png=True)
    pngs = sorted((tmp_path / "r" / "review").rglob("*.png"))
    assert len(pngs) == 3 and all("-tachycardia.png" in p.name for p in pngs)  # 3 with alarms
    w, h = Image.open(pngs[0]).size
    assert abs(w - 250 / 25.4 * 200) <= 2 and abs(h - (2 * 40 + 8) / 25.4 * 200) <= 2
    assert verify(open_store(str(tmp_path / "r"), "v"))[1] == []
