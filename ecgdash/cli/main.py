"""The ``ecgdash`` parser and entry point.

Exit codes: 0 done; 1 an error of ours (a one-line message naming what and why); 2 a usage or
settings error (argparse's convention: a bad argument or a bad ``ECG_*`` variable).
"""

from __future__ import annotations

import argparse
import logging
import sys

from pydantic import ValidationError

from ecgdash.cli import alarms, beds, dataset, db, demo, export, grafana, ingest, kafka, spark, stack
from ecgdash.core.errors import ECGDashError
from ecgdash.settings import Settings, describe_errors

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ecgdash",
        description="Stream, store and watch many patients' ECG. Settings come from ECG_* "
        "environment variables (see README).",
    )
    sub = p.add_subparsers(dest="command", required=True)
    for module in (stack, db, kafka, ingest, spark, export, dataset, grafana, beds, alarms, demo):
        module.add_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as exc:
        for line in describe_errors(exc):
            print(f"ecgdash: error: {line}", file=sys.stderr)
        return EXIT_USAGE
    if settings.log_level != "WARNING":  # otherwise Python's own: warnings and errors, bare
        # ours only: py4j at INFO logs every connection closed at shutdown, with tracebacks
        # whose formatting calls into a dying JVM (seen to hang a SIGTERM'd pipeline)
        logging.basicConfig(level=logging.WARNING,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        logging.getLogger("ecgdash").setLevel(settings.log_level)
    try:
        return int(args.func(args, settings))
    except ECGDashError as exc:
        print(f"ecgdash: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
