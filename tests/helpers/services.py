"""What the session fixtures hand out: how to reach a database, and the sample records."""

from __future__ import annotations

from dataclasses import dataclass, field

from ecgdash.devstack.procs import LOCALHOST
from ecgdash.ingest.sample_records import mitdb

MITDB = mitdb()  # the committed MIT-BIH records 101, 106, 119, 208


@dataclass(frozen=True)
class Db:
    """A migrated database: its mode and the owner, writer and reader DSNs."""

    mode: str  # "postgres" | "timescale"
    admin: str = field(repr=False)
    writer: str = field(repr=False)
    reader: str = field(repr=False)


def dsns(port: int, su_pw: str, ssl: str, writer_pw: str, reader_pw: str) -> tuple[str, str, str]:
    """(owner, writer, reader) DSNs of a local server on 127.0.0.1."""
    base = f"@{LOCALHOST}:{port}/postgres?sslmode={ssl}"
    return (f"postgresql://postgres:{su_pw}{base}", f"postgresql://ecg_writer:{writer_pw}{base}",
            f"postgresql://ecg_reader:{reader_pw}{base}")
