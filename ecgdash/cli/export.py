"""``ecgdash export``: one patient's stored range to WFDB, Parquet or NumPy."""

from __future__ import annotations

import argparse
from pathlib import Path

import psycopg

from ecgdash.cli.endpoints import reader_dsn
from ecgdash.core.clock import check_range, parse_time
from ecgdash.core.errors import ExportError
from ecgdash.export import FORMATS, export
from ecgdash.settings import Settings


def _time(text: str) -> object:
    try:
        return parse_time(text)
    except ValueError as exc:
        raise ExportError(str(exc)) from exc


def cmd_export(args: argparse.Namespace, s: Settings) -> int:
    start, end = _time(args.start), _time(args.end)
    check_range(start, end)  # before the database is asked
    with psycopg.connect(reader_dsn(s), prepare_threshold=None) as conn:
        res = export(conn, args.patient, start, end, args.format, Path(args.out),  # type: ignore[arg-type]
                     show_progress=not args.quiet)
    for f in res.files:
        print(f)
    print(f"{res.samples} samples per lead ({res.missing} missing), {res.beats} beats")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    ex = sub.add_parser(
        "export", help="export a stored range of one patient to WFDB, Parquet or NumPy",
        description="Export one patient's stored ECG in [--start, --end) (signal clock, ISO 8601, "
        "UTC if no zone) with its beats: WFDB (.hea/.dat + .qrs annotations), Parquet or NumPy "
        "(.npz). Samples are the stored ADC values; gaps are -32768 (WFDB's invalid sample).",
    )
    ex.add_argument("--patient", required=True)
    ex.add_argument("--start", required=True, help="first instant, e.g. 2024-03-01T08:00:00Z")
    ex.add_argument("--end", required=True, help="end instant (exclusive)")
    ex.add_argument("--format", choices=list(FORMATS), default="wfdb")
    ex.add_argument("--out", default="export", help="output folder (default ./export)")
    ex.add_argument("--quiet", action="store_true", help="no progress bar")
    ex.set_defaults(func=cmd_export)
