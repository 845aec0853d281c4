"""``ecgdash grafana build|provision``: thin layer over ``ecgdash.grafana.build`` (the
provisioning files) and ``ecgdash.grafana.deploy`` (the same pushed over Grafana's HTTP API).

The environment (ECG_* variables) is read here, never in ``grafana/``.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import replace
from pathlib import Path

from grafana_client import GrafanaApi

from ecgdash.cli.argtypes import positive
from ecgdash.core.errors import ConfigError
from ecgdash.grafana.build import PROVISIONING_DIR, write
from ecgdash.grafana.config import GrafanaConfig
from ecgdash.grafana.deploy import DbConnection, provision
from ecgdash.settings import Settings


def _config(args: argparse.Namespace) -> GrafanaConfig:
    cfg = GrafanaConfig()
    if args.postgres:
        cfg = replace(cfg, timescaledb=False)
    if args.sslmode:
        cfg = replace(cfg, sslmode=args.sslmode)
    if getattr(args, "dashboards_path", None):
        cfg = replace(cfg, dashboards_path=args.dashboards_path)
    return cfg


def cmd_build(args: argparse.Namespace, s: Settings) -> int:
    for path in write(args.out, _config(args)):
        print(path)
    return 0


def _env(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if not value:
        raise ConfigError(f"{name} is not set (needed by `ecgdash grafana provision`)")
    return value


def cmd_provision(args: argparse.Namespace, s: Settings) -> int:
    token = os.environ.get("ECG_GRAFANA_TOKEN")
    credential: str | tuple[str, str] = token or (
        _env("ECG_GRAFANA_USER", "admin"), _env("ECG_GRAFANA_PASSWORD"))
    db = DbConnection(
        host=_env("ECG_DB_HOST"), port=int(_env("ECG_DB_PORT", "5432")),
        name=_env("ECG_DB_NAME", "postgres"), user=_env("ECG_DB_READER_USER", "ecg_reader"),
        password=_env("ECG_DB_READER_PASSWORD"),
    )
    api = GrafanaApi.from_url(args.url, credential=credential, timeout=args.timeout)
    report = provision(api, _config(args), db, env=os.environ)
    for what in report.created:
        print(f"created  {what}")
    for what in report.updated:
        print(f"updated  {what}")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register `grafana build` and `grafana provision` under the `ecgdash` parser."""
    g = sub.add_parser("grafana", help="dashboards, alert rules and datasource as code")
    gsub = g.add_subparsers(dest="grafana_command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--postgres", action="store_true",
                       help="datasource for PostgreSQL mode (jsonData.timescaledb false), e.g. RDS")
        p.add_argument("--sslmode", help="datasource sslmode (default require)")

    b = gsub.add_parser("build", help="write grafana/provisioning/ (datasource, dashboards, alerting)")
    b.add_argument("--out", type=Path, default=PROVISIONING_DIR, help="provisioning folder")
    b.add_argument("--dashboards-path", help="where Grafana will find the dashboard JSON")
    common(b)
    b.set_defaults(func=cmd_build)

    p = gsub.add_parser("provision", help="push everything to a running Grafana (idempotent, by UID)",
                       description="Token from ECG_GRAFANA_TOKEN, or ECG_GRAFANA_USER/"
                       "ECG_GRAFANA_PASSWORD; database from ECG_DB_HOST, ECG_DB_PORT, ECG_DB_NAME, "
                       "ECG_DB_READER_USER, ECG_DB_READER_PASSWORD.")
    p.add_argument("--url", required=True, help="Grafana base URL, e.g. https://grafana.ward:3000")
    p.add_argument("--timeout", type=positive(float), default=10.0, help="seconds per HTTP call")
    common(p)
    p.set_defaults(func=cmd_provision)
