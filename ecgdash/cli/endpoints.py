"""Where the broker and the database are: from the settings in external mode, else from the
running local dev stack."""

from __future__ import annotations

from dataclasses import dataclass, field

from psycopg.conninfo import make_conninfo

from ecgdash.core.errors import ConfigError
from ecgdash.core.kafka import PLAINTEXT, KafkaSecurity
from ecgdash.devstack.manager import load_stack, local_secrets
from ecgdash.settings import Settings


@dataclass(frozen=True)
class Endpoints:
    bootstrap: str
    admin_dsn: str = field(repr=False)
    writer_dsn: str = field(repr=False)
    reader_dsn: str = field(repr=False)


def endpoints(s: Settings) -> Endpoints:
    """Broker and DSNs; ConfigError when neither external settings nor a local stack exist."""
    if s.db_mode == "external":
        if not (s.db_admin_dsn and s.db_writer_dsn and s.db_reader_dsn and s.kafka_bootstrap):
            raise ConfigError(
                "external mode needs ECG_KAFKA_BOOTSTRAP, ECG_DB_ADMIN_DSN, ECG_DB_WRITER_DSN "
                "and ECG_DB_READER_DSN"
            )
        return Endpoints(s.kafka_bootstrap, _tls(s, s.db_admin_dsn.get_secret_value()),
                         _tls(s, s.db_writer_dsn.get_secret_value()),
                         _tls(s, s.db_reader_dsn.get_secret_value()))
    info = load_stack(s.home.resolve())
    if info is None or not info.pids:
        raise ConfigError(f"no local stack running in {s.home}: run `ecgdash stack up` first")
    return Endpoints(s.kafka_bootstrap or info.bootstrap, info.admin_dsn, info.writer_dsn,
                     info.reader_dsn)


def bootstrap(s: Settings) -> str:
    """The brokers: ECG_KAFKA_BOOTSTRAP, else the local stack's."""
    return s.kafka_bootstrap or endpoints(s).bootstrap


def writer_dsn(s: Settings) -> str:
    """The ecg_writer DSN: all the jobs need (external mode: ECG_DB_WRITER_DSN only; the jobs
    never hold the owner's DSN)."""
    if s.db_mode == "external":
        if not s.db_writer_dsn:
            raise ConfigError("external mode needs ECG_DB_WRITER_DSN for the jobs")
        return _tls(s, s.db_writer_dsn.get_secret_value())
    return endpoints(s).writer_dsn


def reader_dsn(s: Settings) -> str:
    """The ecg_reader DSN (external mode needs only ECG_DB_READER_DSN for reading)."""
    if s.db_mode == "external":
        if not s.db_reader_dsn:
            raise ConfigError("external mode needs ECG_DB_READER_DSN to read")
        return _tls(s, s.db_reader_dsn.get_secret_value())
    return endpoints(s).reader_dsn


def _tls(s: Settings, dsn: str) -> str:
    """With ECG_DB_CA_FILE, the server's certificate is verified against it, host name included."""
    if not s.db_ca_file:
        return dsn
    return make_conninfo(dsn, sslmode="verify-full", sslrootcert=s.db_ca_file)


def role_passwords(s: Settings) -> tuple[str | None, str | None]:
    """(writer, reader) passwords that `db migrate` sets: from the settings, else the local ones."""
    local = local_secrets(s.home.resolve()) if s.db_mode != "external" else {}
    w = s.db_writer_password.get_secret_value() if s.db_writer_password else local.get("ecg_writer")
    r = s.db_reader_password.get_secret_value() if s.db_reader_password else local.get("ecg_reader")
    return w, r


def kafka_security(s: Settings) -> KafkaSecurity:
    """The security settings apply to external brokers; the local stack's is plaintext."""
    return s.kafka_security() if s.kafka_bootstrap else PLAINTEXT
