"""``ecgdash ingest``: replay WFDB records into Kafka, paced by their own clock."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ecgdash.cli.argtypes import positive, speed_type
from ecgdash.cli.endpoints import bootstrap, kafka_security
from ecgdash.ingest.run import read_mapping, run_ingest
from ecgdash.settings import Settings


def cmd_ingest(args: argparse.Namespace, s: Settings) -> int:
    result = run_ingest(
        args.source, bootstrap(s), s.topic,
        records=args.records, n_patients=args.patients,
        seconds=args.minutes * 60 if args.minutes else None,
        speed=None if args.speed == "max" else float(args.speed), loop=args.loop,
        start=args.start, mapping=read_mapping(Path(args.mapping)) if args.mapping else None,
        show_progress=not args.quiet, security=kafka_security(s),
    )
    print(f"sent {result.stats.messages} messages, {result.stats.samples} samples, "
          f"{len(result.streams)} patients")
    for err in result.errors:
        print(f"error: {err}", file=sys.stderr)
    return 0 if result.ok else 2


def add_parser(sub: argparse._SubParsersAction) -> None:
    ing = sub.add_parser("ingest", help="replay WFDB records into Kafka, paced by their own clock")
    ing.add_argument("source", help="a folder of WFDB records or s3://bucket/prefix")
    ing.add_argument("--records", nargs="*", help="record names (default: all)")
    ing.add_argument("--patients", type=positive(int), help="patients to make (default: one per record)")
    ing.add_argument("--minutes", type=positive(float), help="minutes of signal per patient")
    ing.add_argument("--speed", default="1", type=speed_type,
                     help="replay speed factor, or 'max' (default 1)")
    ing.add_argument("--loop", action="store_true", help="loop records instead of stopping")
    ing.add_argument("--start", choices=["now", "record"], default="now",
                     help="sample 0 is now, or the record's base time")
    ing.add_argument("--mapping", help="CSV record,patient: patient id of each record")
    ing.add_argument("--quiet", action="store_true", help="no progress bar")
    ing.set_defaults(func=cmd_ingest)

