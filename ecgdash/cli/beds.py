"""``ecgdash beds admit|discharge|list``: who lies in which bed (the ward wall shows admitted beds)."""

from __future__ import annotations

import argparse
from datetime import datetime

import psycopg

from ecgdash.cli.endpoints import endpoints, reader_dsn
from ecgdash.core.clock import parse_time
from ecgdash.core.errors import ConfigError
from ecgdash.settings import Settings
from ecgdash.timescale.admissions import admissions, admit, discharge


def _writer_dsn(s: Settings) -> str:
    """ecg_writer: ECG_DB_WRITER_DSN in external mode (no broker needed), else the local stack's."""
    if s.db_mode == "external":
        if not s.db_writer_dsn:
            raise ConfigError("external mode needs ECG_DB_WRITER_DSN to admit or discharge")
        return s.db_writer_dsn.get_secret_value()
    return endpoints(s).writer_dsn


def _at(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        return parse_time(text)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc


def _fmt(t: datetime | None) -> str:
    return t.isoformat(timespec="seconds") if t else "-"


def cmd_beds(args: argparse.Namespace, s: Settings) -> int:
    if args.action == "list":
        with psycopg.connect(reader_dsn(s)) as conn:
            rows = admissions(conn, include_discharged=args.all)
        print(f"{'bed':<12} {'patient':<24} {'admitted':<26} discharged")
        for a in rows:
            print(f"{a.bed:<12} {a.patient_id:<24} {_fmt(a.admitted_at):<26} {_fmt(a.discharged_at)}")
        return 0
    with psycopg.connect(_writer_dsn(s)) as conn:
        if args.action == "admit":
            a = admit(conn, args.bed, args.patient, _at(args.at))
            print(f"admitted {a.patient_id} to bed {a.bed} at {_fmt(a.admitted_at)}")
        else:
            a = discharge(conn, args.bed_or_patient, _at(args.at))
            print(f"discharged {a.patient_id} from bed {a.bed} at {_fmt(a.discharged_at)}")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    b = sub.add_parser("beds", help="admit a patient to a bed, discharge, list (the ward wall's beds)")
    bsub = b.add_subparsers(dest="action", required=True)
    a = bsub.add_parser("admit", help="open an admission: the bed appears on the ward wall")
    a.add_argument("bed", help="bed label, e.g. 'Bed 12' (letters, digits, space, _.:/-)")
    a.add_argument("patient", help="patient id as the monitor's stream names it")
    a.add_argument("--at", help="admission time (ISO 8601, UTC if no zone; default now)")
    d = bsub.add_parser("discharge", help="close the open admission of a bed or a patient")
    d.add_argument("bed_or_patient")
    d.add_argument("--at", help="discharge time (ISO 8601, UTC if no zone; default now)")
    ls = bsub.add_parser("list", help="open admissions in bed order")
    ls.add_argument("--all", action="store_true", help="include discharged admissions")
    b.set_defaults(func=cmd_beds)
