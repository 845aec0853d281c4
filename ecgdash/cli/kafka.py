"""``ecgdash kafka create-topics``: the waveform topic and its dead-letter topic (MSK does not
auto-create topics; the Terraform deployment runs this at deploy time)."""

from __future__ import annotations

import argparse

from ecgdash.cli.endpoints import bootstrap, kafka_security
from ecgdash.core.kafka import ensure_topics
from ecgdash.settings import Settings


def cmd_create_topics(args: argparse.Namespace, s: Settings) -> int:
    wanted = {s.topic: s.partitions, s.dlq_topic: args.dlq_partitions}
    created = ensure_topics(bootstrap(s), wanted, replication_factor=args.replication_factor,
                            security=kafka_security(s))
    for name, n in wanted.items():
        state = "created" if name in created else "exists"
        print(f"{state}  {name} ({n} partitions, replication {args.replication_factor})")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    k = sub.add_parser("kafka", help="Kafka topics")
    ksub = k.add_subparsers(dest="kafka_command", required=True)
    ct = ksub.add_parser(
        "create-topics", help="create ECG_TOPIC and ECG_DLQ_TOPIC unless they exist",
        description="Idempotent: existing topics are left as they are (exit 0).",
    )
    ct.add_argument("--replication-factor", type=int, default=1,
                    help="replicas per partition (MSK: 3 with three brokers; default 1)")
    ct.add_argument("--dlq-partitions", type=int, default=1, help="dead-letter topic partitions")
    ct.set_defaults(func=cmd_create_topics)
