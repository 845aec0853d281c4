"""`ecgdash`: the one command-line entry point. Each subcommand is a thin layer over a function."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path
from typing import Any

from ecgdash.errors import ConfigError, ECGDashError
from ecgdash.kafka_security import PLAINTEXT, KafkaSecurity
from ecgdash.settings import Settings


def _endpoints(s: Settings) -> dict[str, str]:
    """Broker and DSNs: from the settings in external mode, else from the running local stack."""
    from ecgdash.stack.manager import load_stack

    if s.db_mode == "external":
        if not (s.db_admin_dsn and s.db_writer_dsn and s.db_reader_dsn and s.kafka_bootstrap):
            raise ConfigError(
                "external mode needs ECG_KAFKA_BOOTSTRAP, ECG_DB_ADMIN_DSN, ECG_DB_WRITER_DSN "
                "and ECG_DB_READER_DSN"
            )
        return {
            "bootstrap": s.kafka_bootstrap, "admin": s.db_admin_dsn.get_secret_value(),
            "writer": s.db_writer_dsn.get_secret_value(),
            "reader": s.db_reader_dsn.get_secret_value(),
        }
    info = load_stack(s.home.resolve())
    if info is None or not info.pids:
        raise ConfigError(f"no local stack running in {s.home}: run `ecgdash stack up` first")
    return {
        "bootstrap": s.kafka_bootstrap or info.bootstrap, "admin": info.admin_dsn,
        "writer": info.writer_dsn, "reader": info.reader_dsn,
    }


def _passwords(s: Settings) -> tuple[str | None, str | None]:
    from ecgdash.stack.manager import local_secrets

    local = local_secrets(s.home.resolve()) if s.db_mode != "external" else {}
    w = s.db_writer_password.get_secret_value() if s.db_writer_password else local.get("ecg_writer")
    r = s.db_reader_password.get_secret_value() if s.db_reader_password else local.get("ecg_reader")
    return w, r


def cmd_stack(args: argparse.Namespace, s: Settings) -> int:
    from ecgdash.stack.manager import stack_down, stack_status, stack_up

    if args.action == "up":
        mode = args.db or s.db_mode
        info = stack_up(s.home, mode, {s.topic: s.partitions, s.dlq_topic: 1})
        print(json.dumps({"mode": info.mode, "bootstrap": info.bootstrap, "ports": info.ports}))
    elif args.action == "down":
        print("stopped: " + (", ".join(stack_down(s.home)) or "nothing"))
    else:
        print(json.dumps(stack_status(s.home)))
    return 0


def cmd_db(args: argparse.Namespace, s: Settings) -> int:
    from timescale.migrate import migrate

    ep = _endpoints(s)
    writer_pw, reader_pw = _passwords(s)
    res = migrate(ep["admin"], retention_days=s.retention_days, writer_password=writer_pw,
                  reader_password=reader_pw)
    print(f"timescaledb layer: {'yes' if res.timescaledb else 'no (PostgreSQL mode)'}")
    for name in res.applied:
        print(f"applied  {name}")
    print(f"{len(res.already)} already applied")
    return 0


def _kafka_security(s: Settings) -> KafkaSecurity:
    """The security settings apply to external brokers; the local stack's is plaintext."""
    return s.kafka_security() if s.kafka_bootstrap else PLAINTEXT


def cmd_ingest(args: argparse.Namespace, s: Settings) -> int:
    from ingest.run import read_mapping, run_ingest

    bootstrap = s.kafka_bootstrap or _endpoints(s)["bootstrap"]
    result = run_ingest(
        args.source, bootstrap, s.topic,
        records=args.records, n_patients=args.patients,
        seconds=args.minutes * 60 if args.minutes else None,
        speed=None if args.speed == "max" else float(args.speed), loop=args.loop,
        start=args.start, mapping=read_mapping(Path(args.mapping)) if args.mapping else None,
        show_progress=not args.quiet, security=_kafka_security(s),
    )
    print(f"sent {result.stats.messages} messages, {result.stats.samples} samples, "
          f"{len(result.streams)} patients")
    for err in result.errors:
        print(f"error: {err}", file=sys.stderr)
    return 0 if result.ok else 2


def cmd_export(args: argparse.Namespace, s: Settings) -> int:
    import psycopg

    from ecgdash.export import export, parse_time

    if s.db_mode == "external":
        if not s.db_reader_dsn:
            raise ConfigError("external mode needs ECG_DB_READER_DSN to export")
        dsn = s.db_reader_dsn.get_secret_value()
    else:
        dsn = _endpoints(s)["reader"]
    with psycopg.connect(dsn, prepare_threshold=None) as conn:
        res = export(conn, args.patient, parse_time(args.start), parse_time(args.end), args.format,
                     Path(args.out), show_progress=not args.quiet)  # fmt: skip
    for f in res.files:
        print(f)
    print(f"{res.samples} samples per lead ({res.missing} missing), {res.beats} beats")
    return 0


def cmd_spark(args: argparse.Namespace, s: Settings) -> int:
    from spark_jobs.session import make_spark

    ep = _endpoints(s)
    spark = make_spark(s.spark_master, f"ecgdash-{args.job}")
    common = {
        "bootstrap": ep["bootstrap"], "topic": s.topic, "writer_dsn": ep["writer"],
        "source_format": s.kafka_format, "available_now": args.available_now,
        "max_offsets_per_trigger": s.max_offsets_per_trigger, "security": _kafka_security(s),
    }
    query: Any
    if args.job == "raw-writer":
        from spark_jobs.raw_writer import start_raw_writer

        query, writer = start_raw_writer(
            spark, dlq_topic=s.dlq_topic, checkpoint=s.checkpoint("raw_writer"),
            trigger_s=s.raw_trigger_s, **common,
        )
    else:
        from spark_jobs.hr_job import start_hr_job

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


def cmd_demo(args: argparse.Namespace, s: Settings) -> int:
    from ecgdash.demo import DemoOptions, print_summary, run_demo

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
    ok = (summary["samples_stored"] == summary["samples_sent"]
          and not summary["samples_mismatched"] and not summary["duplicates"]
          and summary["wfdb_export"]["bit_exact"])
    return 0 if ok else 1


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ecgdash",
        description="Stream, store and watch many patients' ECG. Settings come from ECG_* "
        "environment variables (see README).",
    )
    sub = p.add_subparsers(dest="command", required=True)

    st = sub.add_parser("stack", help="start/stop the local broker and database")
    st.add_argument("action", choices=["up", "down", "status"])
    st.add_argument("--db", choices=["timescale", "postgres"], help="database mode (up)")
    st.set_defaults(func=cmd_stack)

    db = sub.add_parser("db", help="database schema")
    db.add_argument("action", choices=["migrate"])
    db.set_defaults(func=cmd_db)

    ing = sub.add_parser("ingest", help="replay WFDB records into Kafka, paced by their own clock")
    ing.add_argument("source", help="a folder of WFDB records or s3://bucket/prefix")
    ing.add_argument("--records", nargs="*", help="record names (default: all)")
    ing.add_argument("--patients", type=int, help="patients to make (default: one per record)")
    ing.add_argument("--minutes", type=float, help="minutes of signal per patient")
    ing.add_argument("--speed", default="1", help="replay speed factor, or 'max' (default 1)")
    ing.add_argument("--loop", action="store_true", help="loop records instead of stopping")
    ing.add_argument("--start", choices=["now", "record"], default="now",
                     help="sample 0 is now, or the record's base time")
    ing.add_argument("--mapping", help="CSV record,patient: patient id of each record")
    ing.add_argument("--quiet", action="store_true", help="no progress bar")
    ing.set_defaults(func=cmd_ingest)

    sp = sub.add_parser("spark", help="run a Spark streaming job")
    sp.add_argument("job", choices=["raw-writer", "hr-job"])
    sp.add_argument("--available-now", action="store_true",
                    help="process what the topic holds now, then stop")
    sp.set_defaults(func=cmd_spark)

    ex = sub.add_parser(
        "export", help="export a stored range of one patient to WFDB, Parquet or NumPy",
        description="Export one patient's stored ECG in [--start, --end) (signal clock, ISO 8601, "
        "UTC if no zone) with its beats: WFDB (.hea/.dat + .qrs annotations), Parquet or NumPy "
        "(.npz). Samples are the stored ADC values; gaps are -32768 (WFDB's invalid sample).",
    )  # fmt: skip
    ex.add_argument("--patient", required=True)
    ex.add_argument("--start", required=True, help="first instant, e.g. 2024-03-01T08:00:00Z")
    ex.add_argument("--end", required=True, help="end instant (exclusive)")
    ex.add_argument("--format", choices=["wfdb", "parquet", "npz"], default="wfdb")
    ex.add_argument("--out", default="export", help="output folder (default ./export)")
    ex.add_argument("--quiet", action="store_true", help="no progress bar")
    ex.set_defaults(func=cmd_export)

    from grafana.cli import add_parser as add_grafana_parser

    add_grafana_parser(sub)

    de = sub.add_parser("demo", help="start everything, replay, store, verify, print a summary")
    de.add_argument("--patients", type=int, default=8)
    de.add_argument("--minutes", type=float, default=5.0, help="minutes of signal per patient")
    de.add_argument("--speed", default="20", help="replay speed factor or 'max' (default 20)")
    de.add_argument("--db", choices=["timescale", "postgres"], help="database mode")
    de.add_argument("--json", help="write the summary as JSON to this path")
    de.add_argument("--keep", action="store_true", help="leave the stack running")
    de.set_defaults(func=cmd_demo)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings()
        return int(args.func(args, settings))
    except ECGDashError as exc:
        print(f"ecgdash: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
