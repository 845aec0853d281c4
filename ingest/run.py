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

from ecgdash.core.codec import TIME_MAX_US, decode, encode_key, encode_meta
from ecgdash.core.errors import ConfigError, DecodeError, RecordError
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
    """CSV with columns ``record,patient``: the patient id of each record. A file that is not
    such a table (a column missing, an empty cell, a record twice) raises ConfigError naming the
    line; the ids themselves are checked when the streams are planned (see ``run_ingest``)."""
    try:
        with path.open(newline="") as f:
            reader = csv.DictReader(f)
            missing = {"record", "patient"} - set(reader.fieldnames or ())
            if missing:
                raise ConfigError(f"mapping {path}: no column {', '.join(sorted(missing))} "
                                  "(expected a header line record,patient)")
            out: dict[str, str] = {}
            for row in reader:
                rec, patient = (row.get("record") or "").strip(), (row.get("patient") or "").strip()
                if not rec or not patient:
                    raise ConfigError(f"mapping {path} line {reader.line_num}: empty record or patient")
                if rec in out:
                    raise ConfigError(f"mapping {path} line {reader.line_num}: record {rec!r} mapped twice")
                out[rec] = patient
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ConfigError(f"mapping {path}: {exc}") from exc
    return out


def _check_stream(s: PatientStream) -> None:
    """The stream's key and registration through the consumers' own decoder, and its last
    sample's time on the signal clock: a stream the pipeline would dead-letter whole (a patient id
    it refuses, a start before 1900 or an end after 2200) raises DecodeError before anything is
    sent."""
    meta = encode_meta(s.meta())
    decode(encode_key(s.patient), meta)
    if s.n_total < 2**62:  # a looping stream without --minutes has no end
        end_us = s.start_us + s.n_total * 1e6 / s.recording.fs
        if end_us >= TIME_MAX_US:
            raise DecodeError(f"its last sample, {end_us:.0f} us, is past the signal clock's 2200")


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
    planned = plan_streams(
        good, n_patients or len(good), seconds=seconds, loop=loop, start_us=start_us,
        names=mapping,
    )
    streams = []
    for s in planned:
        try:
            _check_stream(s)
        except DecodeError as exc:
            err = RecordError(s.recording.name, f"patient {s.patient!r} not sent: {exc.reason}")
            errors.append(err)
            print(f"error: {err} (skipped)", file=sys.stderr)
        else:
            streams.append(s)
    if not streams:
        return IngestResult(ReplayStats(), [], errors)
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
