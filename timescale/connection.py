"""Database connections of the jobs and readers: bounded waits, kept alive, never prepared.

Every connection gets a connect timeout, TCP keepalives (a dead peer is noticed in about a
minute instead of the kernel's two hours) and a statement timeout, so a stalled network or
server turns into an error the caller can retry instead of a job that hangs. Server-side
prepared statements are off: the embedded TimescaleDB shares one session between clients.
"""

from __future__ import annotations

import psycopg

CONNECT_TIMEOUT_S = 10
STATEMENT_TIMEOUT_S = 120
KEEPALIVE = {"keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10,
             "keepalives_count": 3}

# errors worth retrying: the connection or the server, not the data
TRANSIENT = (psycopg.OperationalError, psycopg.InterfaceError)


def connect(dsn: str, *, autocommit: bool = False, statement_timeout_s: float = STATEMENT_TIMEOUT_S,
            connect_timeout_s: float = CONNECT_TIMEOUT_S) -> psycopg.Connection:
    """A connection with bounded waits (see the module docstring)."""
    return psycopg.connect(
        dsn, autocommit=autocommit, prepare_threshold=None,
        connect_timeout=max(1, round(connect_timeout_s)),
        options=f"-c statement_timeout={round(statement_timeout_s * 1000)}", **KEEPALIVE,
    )


def transient(exc: BaseException) -> bool:
    """Whether `exc` (or what caused it) is a connection/server problem worth a retry."""
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        if isinstance(e, TRANSIENT):
            return True
        seen.add(id(e))
        e = e.__cause__ or e.__context__
    return False
