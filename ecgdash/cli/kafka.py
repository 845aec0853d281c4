"""``ecgdash kafka create-topics`` (the waveform topic and its dead-letter topic: MSK does not
auto-create topics) and ``ecgdash kafka acls apply FILE`` (the gateways' and jobs' ACLs); the
Terraform deployment runs both at deploy time."""

from __future__ import annotations

import argparse
from pathlib import Path

from ecgdash.cli.argtypes import positive
from ecgdash.cli.endpoints import bootstrap, kafka_security
from ecgdash.core.kafka import apply_acls, ensure_topics, parse_acls
from ecgdash.settings import Settings


def cmd_create_topics(args: argparse.Namespace, s: Settings) -> int:
    wanted = {s.topic: s.partitions, s.dlq_topic: args.dlq_partitions}
    created = ensure_topics(bootstrap(s), wanted, replication_factor=args.replication_factor,
                            security=kafka_security(s))
    for name, n in wanted.items():
        state = "created" if name in created else "exists"
        print(f"{state}  {name} ({n} partitions, replication {args.replication_factor})")
    return 0


def cmd_acls(args: argparse.Namespace, s: Settings) -> int:
    specs = parse_acls(Path(args.file).read_text())
    created, present = apply_acls(bootstrap(s), specs, kafka_security(s))
    print(f"{created} ACLs created, {present} already present")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    k = sub.add_parser("kafka", help="Kafka topics")
    ksub = k.add_subparsers(dest="kafka_command", required=True)
    ct = ksub.add_parser(
        "create-topics", help="create ECG_TOPIC and ECG_DLQ_TOPIC unless they exist",
        description="Idempotent: existing topics are left as they are (exit 0).",
    )
    ct.add_argument("--replication-factor", type=positive(int), default=1,
                    help="replicas per partition (MSK: 3 with three brokers; default 1)")
    ct.add_argument("--dlq-partitions", type=positive(int), default=1, help="dead-letter topic partitions")
    ct.set_defaults(func=cmd_create_topics)
    acls = ksub.add_parser("acls", help="Kafka ACLs")
    asub = acls.add_subparsers(dest="acls_command", required=True)
    ap = asub.add_parser(
        "apply", help="create the ACLs of a JSON document that the cluster lacks (idempotent)",
        description='FILE: {"acls": [{"principal": "User:NAME", "host": "*", "operation": "Write", '
        '"permission": "Allow", "resource_type": "Topic", "resource_name": "ecg.waveform", '
        '"pattern_type": "Literal"}, ...]} (Kafka\'s names, any case).',
    )
    ap.add_argument("file", help="the ACL document (JSON)")
    ap.set_defaults(func=cmd_acls)
