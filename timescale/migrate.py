"""Apply the schema as pgai does: run-once files (checksummed) and idempotent files every time.

Layout under ``timescale/sql`` (package data, found with ``importlib.resources``):

* ``incremental/<layer>/NNN-*.sql``: tables and other state, applied once each in order and
  recorded with their SHA-256 in ``schema_migrations``; never edited after release.
* ``idempotent/<layer>/NNN-*.sql``: views, functions, grants, policies and role passwords,
  re-applied on every migrate, in the order of their number across layers (so a Timescale view
  can come before a core grant on it), reading their parameters from ``ecg.*`` session settings.

Layers: ``core`` (any PostgreSQL 14+) and ``timescaledb`` (only where the extension exists).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable

import psycopg

from ecgdash.core.errors import MigrationError

SQL_DIR: Traversable = resources.files("ecgdash.timescale") / "sql"
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


def _checksum(path: Traversable) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def timescaledb_available(conn: psycopg.Connection) -> bool:
    row = conn.execute(
        "SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'"
    ).fetchone()
    return row is not None


def _numbered(folder: Traversable) -> list[Traversable]:
    return sorted((p for p in folder.iterdir() if _NUMBERED.match(p.name)), key=lambda p: p.name)


_NUMBERED = re.compile(r"^[0-9]{3}-[a-z0-9-]+\.sql$")
# ledger names of the layout before run-once and idempotent files were split (0.1)
_OLD_LAYOUT = re.compile(r"^(core|timescaledb)/[0-9]{3}-")


def migration_files(layers: tuple[str, ...]) -> list[tuple[str, Traversable]]:
    """(ledger name, file) of each run-once migration of `layers`, in apply order."""
    return [(f"incremental/{layer}/{p.name}", p)
            for layer in layers for p in _numbered(SQL_DIR / "incremental" / layer)]


def idempotent_files(layers: tuple[str, ...]) -> list[tuple[str, Traversable]]:
    """(name, file) of each idempotent file of `layers`, by number across layers, then layer."""
    files = [(p.name, layer, p) for layer in layers for p in _numbered(SQL_DIR / "idempotent" / layer)]
    return [(f"idempotent/{layer}/{name}", p) for name, layer, p in sorted(files, key=lambda f: f[:2])]


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
        _refuse_old_layout(conn)
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
        for name, path in idempotent_files(layers):
            _apply_idempotent(conn, name, path, settings)
    return result


def _refuse_old_layout(conn: psycopg.Connection) -> None:
    names = [r[0] for r in conn.execute("SELECT name FROM schema_migrations").fetchall()]
    old = [n for n in names if _OLD_LAYOUT.match(n)]
    if old:
        raise MigrationError(
            f"this database was migrated by ECGdashboard 0.1 ({old[0]} ...), whose run-once files "
            "held views and grants; 0.2 splits them and cannot upgrade it in place: export what "
            "you need and start from an empty database (locally: `ecgdash stack down` and remove "
            "the data folder under ECG_HOME)"
        )


def _apply_once(conn: psycopg.Connection, name: str, path: Traversable, result: MigrateResult) -> None:
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
            conn.execute(path.read_text())  # type: ignore[call-overload]  # our own .sql file
            conn.execute(
                "INSERT INTO schema_migrations (name, checksum) VALUES (%s, %s)", (name, digest)
            )
    except psycopg.Error as exc:
        raise MigrationError(f"migration {name} failed: {exc}") from exc
    result.applied.append(name)


def _apply_idempotent(conn: psycopg.Connection, name: str, path: Traversable,
                      settings: dict[str, str]) -> None:
    try:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
            for key, value in settings.items():
                conn.execute("SELECT set_config(%s, %s, true)", (key, value))
            conn.execute(path.read_text())  # type: ignore[call-overload]  # our own .sql file
    except psycopg.Error as exc:
        raise MigrationError(f"idempotent step {name} failed: {exc}") from exc
