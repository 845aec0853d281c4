"""``ecgdash alarms job|watch|list|ack|limits``: the alarm job, the watchdog, and the ward's tools."""

from __future__ import annotations

import argparse
import getpass
import signal
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from ecgdash.cli.argtypes import positive
from ecgdash.cli.endpoints import endpoints, reader_dsn
from ecgdash.cli.spark import run_supervised
from ecgdash.core.alarms import Limits
from ecgdash.core.errors import ConfigError
from ecgdash.settings import Settings
from ecgdash.timescale.alarms import (
    DEFAULTS,
    acknowledge,
    check_staleness,
    limits_for,
    list_alarms,
    load_limits,
    set_limits,
)


def cmd_job(args: argparse.Namespace, s: Settings) -> int:
    """The same as ``ecgdash spark alarm-job``: supervised, restarted after a failure."""
    return run_supervised("alarm-job", s, args.available_now)


def _jobs(specs: list[str]) -> dict[str, float]:
    out = {}
    for spec in specs:
        name, _, secs = spec.partition("=")
        try:
            out[name] = float(secs)
        except ValueError as exc:
            raise ConfigError(f"--job wants NAME=SECONDS, got {spec!r}") from exc
    return out


def default_watched_jobs(s: Settings) -> dict[str, float]:
    """The queries the watchdog watches by default and their stall thresholds (s): the raw writer
    and the alarm job; the heart-rate job only when it stores the beats (ECG_ALARM_WRITES_BEATS
    false), so a deployment that stopped running it is not reported stalled."""
    jobs = {"alarm_job": 15.0, "raw_writer": 15.0}
    if not s.alarm_writes_beats:
        jobs["hr_job"] = max(180.0, 3 * s.hr_trigger_s)
    return jobs


def cmd_watch(args: argparse.Namespace, s: Settings) -> int:
    """Check staleness every --interval s until stopped (or once with --once)."""
    jobs = _jobs(args.job) if args.job else default_watched_jobs(s)
    stop = False

    def _stop(signum: int, frame: Any) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    dsn = endpoints(s).writer_dsn
    while not stop:
        try:
            with psycopg.connect(dsn, prepare_threshold=None, connect_timeout=5) as conn:
                while not stop:
                    rep = check_staleness(conn, now=datetime.now(UTC), stale_s=args.stale_s,
                                          jobs=jobs, window_s=args.window_s)
                    for what in rep.raised:
                        print(f"raised {what}", flush=True)
                    for what in rep.ended:
                        print(f"ended  {what}", flush=True)
                    if args.once:
                        return 0
                    time.sleep(args.interval)
        except psycopg.OperationalError as exc:  # the database away: say so, try again
            print(f"watchdog: database unreachable ({exc}); retrying", flush=True)
            if args.once:
                return 1
            time.sleep(args.interval)
    return 0


def _fmt(t: datetime | None) -> str:
    return "-" if t is None else t.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def cmd_list(args: argparse.Namespace, s: Settings) -> int:
    since = datetime.now(UTC) - timedelta(minutes=args.minutes)
    with psycopg.connect(reader_dsn(s), prepare_threshold=None) as conn:
        rows = list_alarms(conn, active=not args.all, since=since, limit=args.limit)
    print(f"{'id':>6} {'priority':8} {'kind':12} {'patient/job':16} {'onset (UTC)':23} "
          f"{'ended':23} {'acked':10} message")
    for r in rows:
        print(f"{r.alarm_id:>6} {r.priority:8} {r.kind:12} {(r.patient_id or r.job or ''):16} "
              f"{_fmt(r.onset):23} {_fmt(r.ended):23} {(r.acked_by or '-'):10} {r.message}")
    return 0


def cmd_ack(args: argparse.Namespace, s: Settings) -> int:
    if args.alarm_id is None and args.patient is None:
        raise ConfigError("name an alarm id or --patient")
    with psycopg.connect(endpoints(s).writer_dsn, prepare_threshold=None) as conn:
        ids = acknowledge(conn, args.by, alarm_id=args.alarm_id, patient=args.patient,
                          kind=args.kind)
    print(f"acknowledged {len(ids)} alarm(s){': ' if ids else ''}{', '.join(map(str, ids))}")
    return 0 if ids else 1


def cmd_limits(args: argparse.Namespace, s: Settings) -> int:
    patient = args.patient or DEFAULTS
    new = [args.brady_high, args.brady_medium, args.tachy_medium, args.tachy_high]
    dsn = endpoints(s).writer_dsn if any(v is not None for v in new) else reader_dsn(s)
    with psycopg.connect(dsn, prepare_threshold=None) as conn:
        cur = limits_for(load_limits(conn), patient)
        if any(v is not None for v in new):
            vals = [v if v is not None else old for v, old in zip(
                new, (cur.brady_high, cur.brady_medium, cur.tachy_medium, cur.tachy_high),
                strict=True)]
            try:
                cur = Limits(*vals)
            except ValueError as exc:
                raise ConfigError(str(exc)) from exc
            set_limits(conn, patient, cur, args.by)
    who = "ward defaults" if patient == DEFAULTS else f"patient {patient}"
    print(f"{who}: bradycardia high < {cur.brady_high:g}, medium < {cur.brady_medium:g}; "
          f"tachycardia medium > {cur.tachy_medium:g}, high > {cur.tachy_high:g} bpm")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    a = sub.add_parser("alarms", help="alarm job, watchdog, list/acknowledge alarms, limits")
    asub = a.add_subparsers(dest="alarms_command", required=True)
    j = asub.add_parser("job", help="run the alarm job (Spark, trigger ECG_ALARM_TRIGGER_S)")
    j.add_argument("--available-now", action="store_true",
                   help="process what the topic holds now, then stop")
    j.set_defaults(func=cmd_job)
    w = asub.add_parser("watch", help="the watchdog: stale patients and stalled jobs, every few s")
    w.add_argument("--interval", type=positive(float), default=2.0, help="seconds between checks")
    w.add_argument("--stale-s", type=positive(float), default=15.0,
                   help="a patient whose newest data was stored longer ago is stale")
    w.add_argument("--window-s", type=positive(float), default=3600.0,
                   help="patients and jobs silent longer than this are off monitoring")
    w.add_argument("--job", action="append", metavar="NAME=SECONDS",
                   help="a streaming query and its stall threshold (default: alarm_job=15, "
                   "raw_writer=15, and hr_job=max(180, 3 x ECG_HR_TRIGGER_S) if "
                   "ECG_ALARM_WRITES_BEATS=false)")
    w.add_argument("--once", action="store_true", help="check once and exit")
    w.set_defaults(func=cmd_watch)
    ls = asub.add_parser("list", help="latched alarms (or every event of the last --minutes)")
    ls.add_argument("--all", action="store_true", help="every event, not only the latched ones")
    ls.add_argument("--minutes", type=positive(float), default=60.0)
    ls.add_argument("--limit", type=positive(int), default=100)
    ls.set_defaults(func=cmd_list)
    k = asub.add_parser("ack", help="acknowledge alarms (by id, or a patient's)")
    k.add_argument("alarm_id", type=positive(int), nargs="?")
    k.add_argument("--patient")
    k.add_argument("--kind")
    k.add_argument("--by", default=getpass.getuser(), help="who acknowledges (default: you)")
    k.set_defaults(func=cmd_ack)
    li = asub.add_parser("limits", help="show or set heart-rate limits (a patient, or the ward's)")
    li.add_argument("patient", nargs="?", help="default: the ward's defaults")
    for name in ("brady-high", "brady-medium", "tachy-medium", "tachy-high"):
        li.add_argument(f"--{name}", type=positive(float), help="bpm")
    li.add_argument("--by", default=getpass.getuser())
    li.set_defaults(func=cmd_limits)
