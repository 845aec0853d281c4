"""``ecgdash spark raw-writer|hr-job``: run one streaming job until stopped."""

from __future__ import annotations

import argparse
import signal
from typing import Any

from ecgdash.cli.endpoints import endpoints, kafka_security
from ecgdash.settings import Settings
from ecgdash.spark_jobs.hr_job import start_hr_job
from ecgdash.spark_jobs.raw_writer import start_raw_writer
from ecgdash.spark_jobs.session import make_spark


def cmd_spark(args: argparse.Namespace, s: Settings) -> int:
    ep = endpoints(s)
    spark = make_spark(s.spark_master, f"ecgdash-{args.job}")
    common = {
        "bootstrap": ep.bootstrap, "topic": s.topic, "writer_dsn": ep.writer_dsn,
        "source_format": s.kafka_format, "available_now": args.available_now,
        "max_offsets_per_trigger": s.max_offsets_per_trigger, "security": kafka_security(s),
    }
    query: Any
    if args.job == "raw-writer":
        query, writer = start_raw_writer(
            spark, dlq_topic=s.dlq_topic, checkpoint=s.checkpoint("raw_writer"),
            trigger_s=s.raw_trigger_s, **common,
        )
    else:
        query, writer = start_hr_job(
            spark, checkpoint=s.checkpoint("hr_job"), trigger_s=s.hr_trigger_s, **common
        )

    def _stop(signum: int, frame: Any) -> None:
        query.stop()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    query.awaitTermination()
    writer.close()
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    sp = sub.add_parser("spark", help="run a Spark streaming job")
    sp.add_argument("job", choices=["raw-writer", "hr-job"])
    sp.add_argument("--available-now", action="store_true",
                    help="process what the topic holds now, then stop")
    sp.set_defaults(func=cmd_spark)
