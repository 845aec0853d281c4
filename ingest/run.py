"""`ecgdash ingest`: read records, plan patient streams, publish them paced; report bad records."""

from __future__ import annotations

import csv
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from typing import Literal

from tqdm import tqdm

from ecgdash.core.errors import RecordError
from ecgdash.core.kafka import PLAINTEXT, KafkaSecurity, Publisher
from ecgdash.ingest.records import Recording, load_records
from ecgdash.ingest.replay import PatientStream, ReplayStats, plan_streams, replay


@dataclass
class IngestResult:
    stats: ReplayStats
    streams: list[PatientStream]
    errors: list[RecordError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def read_mapping(path: Path) -> dict[str, str]:
    """CSV with columns ``record,patient``: the patient id of each record."""
    with path.open(newline="") as f:
        return {row["record"]: row["patient"] for row in csv.DictReader(f)}


def run_ingest(
    source: str,
    bootstrap: str,
    topic: str,
    *,
    records: list[str] | None = None,
    n_patients: int | None = None,
    seconds: float | None = None,
    speed: float | None = 1.0,
    loop: bool = False,
    start: Literal["now", "record"] = "now",
    mapping: dict[str, str] | None = None,
    show_progress: bool = True,
    security: KafkaSecurity = PLAINTEXT,
    start_us: int | None = None,
) -> IngestResult:
    """Publish `n_patients` streams (default: one per record) for `seconds` of signal each.

    A record that cannot be read is reported in the result and nothing of it is published;
    the other records go on. `speed` None replays as fast as the broker takes it. Sample 0 is
    at `start_us` (epoch µs) if given, else now or the records' base time (`start`).
    """
    good: list[Recording] = []
    errors: list[RecordError] = []
    for _name, rec in load_records(source, records):
        if isinstance(rec, RecordError):
            errors.append(rec)
            print(f"error: {rec} (skipped)", file=sys.stderr)
        else:
            good.append(rec)
    if not good:
        return IngestResult(ReplayStats(), [], errors or [RecordError(source, "no records")])
    explicit = start_us is not None
    start_us = start_us if start_us is not None else time.time_ns() // 1000
    if start == "record" and not explicit:
        bases = {r.base_time for r in good}
        if None in bases or len(bases) != 1:
            print("note: records lack one common base time; starting now", file=sys.stderr)
        else:
            (base,) = bases
            assert base is not None
            start_us = int(base.replace(tzinfo=UTC).timestamp() * 1e6)
    streams = plan_streams(
        good, n_patients or len(good), seconds=seconds, loop=loop, start_us=start_us,
        names=mapping,
    )
    total = sum(s.n_total * len(s.recording.signals) for s in streams)
    publisher = Publisher(bootstrap, topic, security)
    bar = tqdm(total=total if total < 2**60 else None, unit="sample", unit_scale=True,
               disable=not show_progress, desc="replay")
    try:
        stats = replay(streams, publisher.send, speed=speed, progress=bar.update)
        publisher.flush()
    finally:
        bar.close()
        publisher.close()
    return IngestResult(stats, streams, errors)
