"""``ecgdash db migrate``: the schema, as the owner role."""

from __future__ import annotations

import argparse

from ecgdash.cli.endpoints import endpoints, role_passwords
from ecgdash.settings import Settings
from ecgdash.timescale.migrate import migrate


def cmd_db(args: argparse.Namespace, s: Settings) -> int:
    writer_pw, reader_pw = role_passwords(s)
    res = migrate(endpoints(s).admin_dsn, retention_days=s.retention_days,
                  writer_password=writer_pw, reader_password=reader_pw)
    print(f"timescaledb layer: {'yes' if res.timescaledb else 'no (PostgreSQL mode)'}")
    for name in res.applied:
        print(f"applied  {name}")
    print(f"{len(res.already)} already applied")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    db = sub.add_parser("db", help="database schema")
    db.add_argument("action", choices=["migrate"])
    db.set_defaults(func=cmd_db)
