"""``ecgdash demo``: the whole pipeline on the local dev stack, verified against the records."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ecgdash.cli.argtypes import positive, speed_type
from ecgdash.demo import DemoOptions, demo_ok, print_summary, run_demo
from ecgdash.settings import Settings


def cmd_demo(args: argparse.Namespace, s: Settings) -> int:
    opts = DemoOptions(
        home=s.home, db_mode=args.db or ("timescale" if s.db_mode == "external" else s.db_mode),
        patients=args.patients, minutes=args.minutes,
        speed=None if args.speed == "max" else float(args.speed), topic=s.topic,
        dlq_topic=s.dlq_topic, partitions=s.partitions, trigger_s=s.raw_trigger_s,
        retention_days=s.retention_days, keep=args.keep,
    )
    summary = run_demo(opts)
    print_summary(summary)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(summary, indent=2))
    return 0 if demo_ok(summary) else 1


def add_parser(sub: argparse._SubParsersAction) -> None:
    de = sub.add_parser("demo", help="start everything, replay, store, verify, print a summary")
    de.add_argument("--patients", type=positive(int), default=8)
    de.add_argument("--minutes", type=positive(float), default=5.0, help="minutes of signal per patient")
    de.add_argument("--speed", default="20", type=speed_type,
                    help="replay speed factor or 'max' (default 20)")
    de.add_argument("--db", choices=["timescale", "postgres"], help="database mode")
    de.add_argument("--json", help="write the summary as JSON to this path")
    de.add_argument("--keep", action="store_true", help="leave the stack running")
    de.set_defaults(func=cmd_demo)
