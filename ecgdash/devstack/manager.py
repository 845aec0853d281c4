"""`ecgdash stack up | down | status`: the local broker and database, state under one folder.

Layout of ``home`` (default ``.ecgdash/``): ``stack.json`` (what `up` started: PIDs, ports,
DSNs; mode 0600), ``secrets.json`` (generated local passwords, 0600), ``pg/`` or ``pglite/``
(data), ``logs/``. `down` stops only the PIDs recorded in ``stack.json``. Everything listens on
127.0.0.1. The broker keeps topics in memory: a `down` discards unconsumed messages.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psycopg

from ecgdash.core.errors import StackError
from ecgdash.core.kafka import ensure_topics
from ecgdash.devstack.broker import start_broker
from ecgdash.devstack.pglite import start_pglite
from ecgdash.devstack.postgres import init_cluster, start_postgres
from ecgdash.devstack.procs import LOCALHOST, free_port, pid_alive, port_open, spawn, stop_pid

LOCAL_MODES = ("timescale", "postgres")


@dataclass
class StackInfo:
    """What a `stack up` started and how to reach it."""

    mode: str
    bootstrap: str
    admin_dsn: str = field(repr=False)  # DSNs carry passwords: never in a repr or a log line
    writer_dsn: str = field(repr=False)
    reader_dsn: str = field(repr=False)
    pids: dict[str, int] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)


def _write_private(path: Path, doc: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(doc, f, indent=2)


def local_secrets(home: Path) -> dict[str, str]:
    """Passwords of the local stack, generated once and kept in ``home/secrets.json``."""
    path = home / "secrets.json"
    if path.exists():
        return dict(json.loads(path.read_text()))
    doc = {k: secrets.token_urlsafe(18) for k in ("superuser", "ecg_writer", "ecg_reader")}
    _write_private(path, doc)
    return doc


def load_stack(home: Path) -> StackInfo | None:
    path = home / "stack.json"
    if not path.exists():
        return None
    return StackInfo(**json.loads(path.read_text()))


def _dsn(user: str, password: str, port: int, ssl: str) -> str:
    return f"postgresql://{user}:{password}@{LOCALHOST}:{port}/postgres?sslmode={ssl}"


def wait_db(dsn: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with psycopg.connect(dsn, connect_timeout=5) as conn:
                conn.execute("SELECT 1")
            return
        except psycopg.OperationalError as exc:
            if time.monotonic() > deadline:
                raise StackError(f"database not answering: {exc}") from exc
            time.sleep(0.2)


def _reuse_port(ports: dict[str, int], name: str) -> int:
    port = ports.get(name)
    return port if port and not port_open(LOCALHOST, port) else free_port()


def stack_up(home: Path, mode: str, topics: dict[str, int]) -> StackInfo:
    """Start what is not running yet (broker and database in `mode`) and return how to reach it."""
    if mode not in LOCAL_MODES:
        raise StackError(f"stack mode must be one of {LOCAL_MODES}, not {mode!r}")
    home = home.resolve()
    home.mkdir(parents=True, exist_ok=True)
    home.chmod(0o700)  # local state, logs and generated passwords: the user's own
    old = load_stack(home)
    if old and old.mode != mode and any(pid_alive(p) for p in old.pids.values()):
        raise StackError(f"a {old.mode} stack is running in {home}: `ecgdash stack down` first")
    pids = dict(old.pids) if old else {}
    ports = dict(old.ports) if old else {}
    pw = local_secrets(home)
    logs = home / "logs"

    if not (pids.get("broker") and pid_alive(pids["broker"])):
        ports["broker"] = _reuse_port(ports, "broker")
        pids["broker"] = start_broker(ports["broker"], logs / "broker.log").pid
    bootstrap = f"{LOCALHOST}:{ports['broker']}"

    if not (pids.get("db") and pid_alive(pids["db"])):
        ports["db"] = _reuse_port(ports, "db")
        if mode == "postgres":
            init_cluster(home / "pg" / "data", pw["superuser"])
            pids["db"] = start_postgres(home / "pg" / "data", ports["db"], logs / "db.log").pid
        else:
            pids["db"] = start_pglite(home / "pglite" / "data", ports["db"], logs / "db.log").pid
    ssl = "disable" if mode == "timescale" else "prefer"
    info = StackInfo(
        mode=mode,
        bootstrap=bootstrap,
        admin_dsn=_dsn("postgres", pw["superuser"], ports["db"], ssl),
        writer_dsn=_dsn("ecg_writer", pw["ecg_writer"], ports["db"], ssl),
        reader_dsn=_dsn("ecg_reader", pw["ecg_reader"], ports["db"], ssl),
        pids=pids,
        ports=ports,
    )
    wait_db(info.admin_dsn)
    if mode == "timescale" and not (pids.get("jobs") and pid_alive(pids["jobs"])):
        # the embedded TimescaleDB has no background scheduler: run its policies from here
        pids["jobs"] = spawn(
            [sys.executable, "-m", "ecgdash.timescale.jobs"], logs / "jobs.log",
            env={"ECG_JOBS_DSN": info.admin_dsn},
        ).pid
    _write_private(home / "stack.json", asdict(info))
    ensure_topics(bootstrap, topics)
    return info


def stack_down(home: Path) -> list[str]:
    """Stop what `stack up` started; returns the names stopped."""
    info = load_stack(home.resolve())
    if info is None:
        return []
    stopped = []
    # the job runner first, then the database (it flushes while the broker is idle)
    for name in ("jobs", "db", "broker"):
        pid = info.pids.get(name)
        if pid and pid_alive(pid):
            stop_pid(pid, timeout_s=60)
            stopped.append(name)
    info.pids = {}
    _write_private(home.resolve() / "stack.json", asdict(info))
    return stopped


def stack_status(home: Path) -> dict[str, object]:
    info = load_stack(home.resolve())
    if info is None:
        return {"running": False}
    return {
        "mode": info.mode,
        "bootstrap": info.bootstrap,
        "db_port": info.ports.get("db"),
        "broker": bool(info.pids.get("broker") and pid_alive(info.pids["broker"])),
        "db": bool(info.pids.get("db") and pid_alive(info.pids["db"])),
        "jobs": bool(info.pids.get("jobs") and pid_alive(info.pids["jobs"])),
    }
