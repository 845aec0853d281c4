"""``ecgdash dataset export|verify``: cohort exports for ML teams (see README "ML datasets")."""

from __future__ import annotations

import argparse
import re
import sys
from functools import partial

import psycopg

from ecgdash.cli.endpoints import reader_dsn
from ecgdash.core.clock import parse_time
from ecgdash.core.dataset.layout import FORMATS, LAYOUTS
from ecgdash.core.dataset.manifest import verify
from ecgdash.core.dataset.unit import Spec
from ecgdash.core.errors import ExportError
from ecgdash.core.storage import open_store
from ecgdash.dataset.cohort import Selection
from ecgdash.dataset.export import Request, check_request, run_export
from ecgdash.settings import Settings


def _time(text: str):  # noqa: ANN202 - a datetime
    try:
        return parse_time(text)
    except ValueError as exc:
        raise ExportError(str(exc)) from exc


def parse_window(text: str) -> float:
    """``10s``, ``10``, ``2.5s`` or ``1m`` -> seconds."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*(s|m)?\s*", text)
    if not m:
        raise ExportError(f"--window {text!r}: give seconds like 10s or minutes like 1m")
    return float(m.group(1)) * (60 if m.group(2) == "m" else 1)


def cmd_export(args: argparse.Namespace, s: Settings) -> int:
    req = Request(
        start=_time(args.start), end=_time(args.end),
        selection=Selection(tuple(args.patients or ()), tuple(args.beds or ()), bool(args.all)),
        spec=Spec(args.format, args.layout, parse_window(args.window)), out=args.out,
        review_png=args.review_png, engine=args.engine,
    )  # fmt: skip
    check_request(req)  # a bad request fails before the database is asked or Spark is started
    dsn = reader_dsn(s)
    connect = partial(psycopg.connect, dsn, prepare_threshold=None)
    spark = None
    if args.engine == "spark":
        from ecgdash.spark_jobs.session import make_spark

        spark = make_spark(args.spark_master, "ecgdash-dataset")
    progress = None if args.quiet else (lambda line: print(line, file=sys.stderr))
    try:
        res = run_export(connect, req, progress=progress, spark=spark, reader_dsn=dsn)
    finally:
        if spark is not None:
            spark.stop()
    print(f"{res.uri}: {res.patients} patients, {res.samples} samples, {res.files} files "
          f"in {res.seconds:.1f} s ({res.samples / max(res.seconds, 1e-9) / 1e6:.2f} M samples/s)")
    return 0


def cmd_verify(args: argparse.Namespace, s: Settings) -> int:
    doc, problems = verify(open_store(args.dataset, "verify"))
    for p in problems:
        print(f"{args.dataset}: {p}", file=sys.stderr)
    if problems:
        raise ExportError(f"{args.dataset}: {len(problems)} problem(s) against its manifest")
    print(f"{args.dataset}: {len(doc['files'])} files verified (schema {doc['schema_version']}, "
          f"code {doc['code_version']}, {doc['totals'].get('samples', 0)} samples)")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    ds = sub.add_parser("dataset", help="cohort exports for ML: export, verify",
                        description="Export a cohort's stored ECG with its labels as a dataset "
                        "(Parquet, WFDB or NumPy; a folder or s3://bucket/prefix), or verify one.")
    dsub = ds.add_subparsers(dest="dataset_command", required=True)
    ex = dsub.add_parser(
        "export", help="export a cohort's range with labels",
        description="Export [--start, --end) (signal clock, ISO 8601, UTC if no zone) of a cohort "
        "with its labels (our beats and quality windows, the source's annotations, alarm events). "
        "Files are written to a temporary location and published with manifest.json last.",
    )
    who = ex.add_mutually_exclusive_group(required=True)
    who.add_argument("--patients", nargs="+", metavar="P", help="patient ids")
    who.add_argument("--beds", nargs="+", metavar="BED", help="the patients of these beds, each "
                     "over its stays in the range")
    who.add_argument("--all", action="store_true", help="every patient with samples in the range")
    ex.add_argument("--start", required=True)
    ex.add_argument("--end", required=True, help="end instant (exclusive)")
    ex.add_argument("--format", choices=list(FORMATS), default="parquet")
    ex.add_argument("--layout", choices=list(LAYOUTS), default="samples",
                    help="samples: every stored sample; windows: fixed-length segments with labels")
    ex.add_argument("--window", default="10s", help="window length for --layout windows (10s)")
    ex.add_argument("--out", required=True, help="a new folder, or s3://bucket/prefix")
    ex.add_argument("--review-png", action="store_true",
                    help="a PNG strip per alarm event in the range (10 s around onset)")
    ex.add_argument("--engine", choices=["local", "spark"], default="local",
                    help="local (one process) or spark (tasks per patient-hour)")
    ex.add_argument("--spark-master", default="local[2]")
    ex.add_argument("--quiet", action="store_true")
    ex.set_defaults(func=cmd_export)
    ve = dsub.add_parser("verify", help="check a dataset against its manifest")
    ve.add_argument("dataset", help="a dataset folder or s3://bucket/prefix")
    ve.set_defaults(func=cmd_verify)
