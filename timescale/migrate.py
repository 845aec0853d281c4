"""Apply the schema: numbered migrations once each (checksummed), idempotent files every time.

Layout under ``timescale/sql``: ``core/NNN-*.sql`` (any PostgreSQL 14+), ``timescaledb/NNN-*.sql``
(only where the extension is available), ``idempotent/<layer>-*.sql`` re-run on every migrate,
reading their parameters from ``ecg.*`` session settings.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from ecgdash.errors import MigrationError

SQL_DIR = Path(__file__).parent / "sql"
LAYERS = ("core", "timescaledb")
_LOCK_KEY = 0x0EC6DA5B  # advisory lock: one migrate at a time

_LEDGER = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    name       text PRIMARY KEY,
    checksum   text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)"""


@dataclass
class MigrateResult:
    applied: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    timescaledb: bool = False


def _checksum(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def timescaledb_available(conn: psycopg.Connection) -> bool:
    row = conn.execute(
        "SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'"
    ).fetchone()
    return row is not None


def migration_files(layers: tuple[str, ...]) -> list[tuple[str, Path]]:
    """(ledger name, path) of each numbered migration of `layers`, in apply order."""
    out: list[tuple[str, Path]] = []
    for layer in layers:
        for path in sorted((SQL_DIR / layer).glob("[0-9][0-9][0-9]-*.sql")):
            out.append((f"{layer}/{path.name}", path))
    return out


def migrate(
    dsn: str,
    *,
    retention_days: int = 30,
    writer_password: str | None = None,
    reader_password: str | None = None,
    use_timescaledb: bool | None = None,
) -> MigrateResult:
    """Bring the database at `dsn` (an owner role) to the current schema.

    `use_timescaledb` None means: apply the Timescale layer where the extension is available.
    """
    result = MigrateResult()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(_LEDGER)
        tsdb = timescaledb_available(conn) if use_timescaledb is None else use_timescaledb
        result.timescaledb = tsdb
        layers = LAYERS if tsdb else LAYERS[:1]
        for name, path in migration_files(layers):
            _apply_once(conn, name, path, result)
        settings = {
            "ecg.retention_days": str(retention_days),
            "ecg.writer_password": writer_password or "",
            "ecg.reader_password": reader_password or "",
        }
        for layer in layers:
            for path in sorted((SQL_DIR / "idempotent").glob(f"{layer}-*.sql")):
                _apply_idempotent(conn, path, settings)
    return result


def _apply_once(conn: psycopg.Connection, name: str, path: Path, result: MigrateResult) -> None:
    digest = _checksum(path)
    try:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
            row = conn.execute(
                "SELECT checksum FROM schema_migrations WHERE name = %s", (name,)
            ).fetchone()
            if row is not None:
                if row[0] != digest:
                    raise MigrationError(
                        f"migration {name} was changed after it was applied "
                        f"(checksum {digest[:12]} vs applied {row[0][:12]}): add a new file instead"
                    )
                result.already.append(name)
                return
            conn.execute(path.read_text())
            conn.execute(
                "INSERT INTO schema_migrations (name, checksum) VALUES (%s, %s)", (name, digest)
            )
    except psycopg.Error as exc:
        raise MigrationError(f"migration {name} failed: {exc}") from exc
    result.applied.append(name)


def _apply_idempotent(conn: psycopg.Connection, path: Path, settings: dict[str, str]) -> None:
    try:
        with conn.transaction():
            for key, value in settings.items():
                conn.execute("SELECT set_config(%s, %s, true)", (key, value))
            conn.execute(path.read_text())
    except psycopg.Error as exc:
        raise MigrationError(f"idempotent step {path.name} failed: {exc}") from exc
