"""Fault injection for the fault suite and the soak bench: a TCP proxy that stalls or cuts the
network between a job and a service, and a small filesystem that fills up."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from ecgdash.devstack.procs import LOCALHOST, free_port


class TcpProxy:
    """Forwards 127.0.0.1:`port` to `target`; `pause()` stalls traffic both ways (the sockets stay
    open, as on a congested or partitioned network), `resume()` lets it flow, `cut()` drops every
    connection (as a firewall reset or a NAT timeout would)."""

    def __init__(self, target_port: int, target_host: str = LOCALHOST) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self._open = threading.Event()
        self._open.set()
        self._stop = threading.Event()
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self._server = socket.create_server((LOCALHOST, self.port))
        self._server.settimeout(0.2)
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        src.settimeout(0.2)
        try:
            while not self._stop.is_set():
                try:
                    data = src.recv(65536)
                except TimeoutError:
                    continue
                if not data:
                    break
                while not self._open.wait(0.2):  # stalled: hold the bytes
                    if self._stop.is_set():
                        return
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def pause(self) -> None:
        self._open.clear()

    def resume(self) -> None:
        self._open.set()

    def cut(self) -> None:
        with self._lock:
            conns, self._conns = self._conns, []
        for s in conns:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
                s.close()

    def close(self) -> None:
        self._stop.set()
        self._open.set()
        self.cut()
        self._server.close()


@contextlib.contextmanager
def small_filesystem(path: Path, size_mb: int) -> Iterator[Path]:
    """A tmpfs of `size_mb` mounted at `path` (needs root, as the CI machine has); raises
    OSError when it cannot be mounted."""
    path.mkdir(parents=True, exist_ok=True)
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m,mode=0777", "tmpfs",
                          str(path)], capture_output=True, text=True)
    if res.returncode != 0:
        raise OSError(f"cannot mount a tmpfs at {path}: {res.stderr.strip()}")
    try:
        yield path
    finally:
        for _ in range(50):
            if subprocess.run(["umount", str(path)], capture_output=True).returncode == 0:
                break
            time.sleep(0.2)


def fill(path: Path, leave_bytes: int = 0) -> Path:
    """Fill the filesystem at `path` up to `leave_bytes` free; returns the ballast file."""
    ballast = path / "ballast"
    with open(ballast, "wb") as f:
        chunk = b"\0" * (1 << 20)
        with contextlib.suppress(OSError):
            while True:
                import shutil

                free = shutil.disk_usage(path).free
                if free <= leave_bytes:
                    break
                f.write(chunk[: max(1, min(len(chunk), free - leave_bytes))])
                f.flush()
    return ballast
