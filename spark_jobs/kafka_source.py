"""A Spark 4 Python streaming data source for Kafka, named ``ecgkafka``.

Its rows have the schema of Spark's built-in ``kafka`` source, so a job can switch to
``format("kafka")`` where the spark-sql-kafka connector jar is present. Offsets are
``{"<topic>": {"<partition>": next_offset}}``, checkpointed by Spark; consumer groups are not
used for reading (``assign`` + ``seek``), only to publish progress for lag monitoring.

Options: ``kafka.bootstrap.servers``, ``subscribe`` (one topic), ``startingOffsets``
(earliest | latest | JSON ``{"topic": {"0": offset}}``, where -2 is earliest and -1 latest as in
Spark's kafka source; partitions it does not name start at 0), ``maxOffsetsPerTrigger``,
``groupIdForLag`` (optional; commits processed offsets under that group id so lag is visible
to Kafka tools), ``failOnDataLoss`` (default true, as Spark's kafka source).

Data loss is never silent. When offsets the query still has to read are gone (retention deleted
them, the topic was re-created, a broker restarted without its storage: the high watermark moved
backwards), the query fails with a :class:`DataLossError` naming the partition and offsets. With
``failOnDataLoss=false`` it reads on from the partition's earliest offset and puts a *gap marker*
in the batch: a row with ``timestampType = -1`` (the built-in source never produces it), null key,
``offset`` = the next offset it expected and ``value`` = JSON ``{"resume": <offset read from>,
"reason": ...}``; the raw writer records it in ``data_loss_gaps`` with the batch, exactly once.
Kafka timestamps outside the years 1-9999 come through as null instead of failing the read.

Broker quirk handled (Tansu): ListOffsets(LATEST) may return less than the high watermark, so the
latest offset is taken from a Fetch response's high watermark, which is right on real Kafka too.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
from pyspark.sql.datasource import DataSource, DataSourceStreamReader, InputPartition
from pyspark.sql.streaming.datasource import (
    ReadAllAvailable,
    ReadLimit,
    ReadMaxRows,
    SupportsTriggerAvailableNow,
)

from ecgdash.core.errors import DataLossError
from ecgdash.core.kafka import KafkaSecurity, consumer, high_watermarks
from ecgdash.spark_jobs.worker_gc import freeze_once

GAP_MARKER = -1  # timestampType of a gap marker row (see the module docstring)
KAFKA_SCHEMA = (
    "key binary, value binary, topic string, partition int, offset long, "
    "timestamp timestamp, timestampType int"
)
_LATEST, _EARLIEST = -1, -2  # special offsets in a startingOffsets JSON (Spark's convention)
log = logging.getLogger(__name__)


@dataclass
class KafkaRange(InputPartition):
    """Offsets [start, end) of one topic partition."""

    topic: str
    partition: int
    start: int
    end: int
    bootstrap: str
    security: KafkaSecurity = field(default_factory=KafkaSecurity, repr=False)  # holds the secret
    gap_from: int | None = None  # the offset expected next, when it was gone (see module doc)
    gap_reason: str = ""


class KafkaStreamReader(DataSourceStreamReader, SupportsTriggerAvailableNow):
    def __init__(self, options: dict[str, str]) -> None:
        # Spark hands options over case-insensitively (as lower-case keys)
        options = {k.lower(): v for k, v in options.items()}
        self.bootstrap = options["kafka.bootstrap.servers"]
        self.topic = options["subscribe"]
        self.starting = options.get("startingoffsets", "earliest")
        max_rows = options.get("maxoffsetspertrigger")
        self.max_rows = int(max_rows) if max_rows else None
        self.lag_group = options.get("groupidforlag")
        self.fail_on_data_loss = options.get("failondataloss", "true").lower() != "false"
        # the built-in kafka source's security options (kafka.security.protocol, ...)
        self.security = KafkaSecurity.from_spark_options(options)
        self._consumer: Any = None  # created lazily: readers are pickled
        self._cap: dict[str, int] | None = None  # availableNow: stop at these offsets

    def _c(self) -> Any:
        if self._consumer is None:
            self._consumer = consumer(self.bootstrap, self.security)
        return self._consumer

    def _tps(self) -> list[Any]:
        from kafka import TopicPartition

        c = self._c()
        deadline = time.monotonic() + 30
        parts = c.partitions_for_topic(self.topic)
        while not parts:
            if time.monotonic() > deadline:
                raise RuntimeError(f"topic {self.topic} not found at {self.bootstrap}")
            time.sleep(0.2)
            c.topics()  # refresh metadata
            parts = c.partitions_for_topic(self.topic)
        return [TopicPartition(self.topic, p) for p in sorted(parts)]

    def _latest(self) -> dict[str, int]:
        hw = high_watermarks(self._c(), self._tps())
        return {str(tp.partition): off for tp, off in hw.items()}

    def initialOffset(self) -> dict:
        tps = self._tps()
        if self.starting == "latest":
            return {self.topic: self._latest()}
        if self.starting.startswith("{"):  # explicit, as Spark's kafka source takes it
            given = json.loads(self.starting).get(self.topic)
            if given is None:
                raise ValueError(f"startingOffsets has no offsets for topic {self.topic}: "
                                 f"{self.starting}")
            return {self.topic: self._resolve({str(p): int(o) for p, o in given.items()}, tps)}
        begin = self._c().beginning_offsets(tps)
        return {self.topic: {str(tp.partition): int(off) for tp, off in begin.items()}}

    def _resolve(self, given: dict[str, int], tps: list[Any]) -> dict[str, int]:
        """Explicit start offsets; as in Spark's kafka source, -2 is the partition's earliest
        offset and -1 its latest."""
        wanted = set(given.values())
        earliest = ({str(tp.partition): int(off) for tp, off in self._c().beginning_offsets(tps).items()}
                    if _EARLIEST in wanted else {})
        latest = self._latest() if _LATEST in wanted else {}
        out = {}
        for p, o in given.items():
            special = earliest if o == _EARLIEST else latest if o == _LATEST else None
            if special is None and o >= 0:
                out[p] = o
            elif special is not None and p in special:
                out[p] = special[p]
            else:
                raise ValueError(f"startingOffsets: offset {o} of {self.topic} partition {p} "
                                 "is not an offset, -2 (earliest) or -1 (latest) of a partition")
        return out

    def getDefaultReadLimit(self) -> ReadLimit:
        return ReadMaxRows(self.max_rows) if self.max_rows else ReadAllAvailable()

    def prepareForTriggerAvailableNow(self) -> None:
        self._cap = self._latest()

    def _earliest(self) -> dict[str, int]:
        begin = self._c().beginning_offsets(self._tps())
        return {str(tp.partition): int(off) for tp, off in begin.items()}

    def _gaps(self, begin: dict[str, int], latest: dict[str, int]) -> dict[str, tuple[int, int, str]]:
        """Partitions whose next offset is gone: {p: (expected, resume from, reason)}; raises
        DataLossError unless failOnDataLoss is false. `latest`: each partition's end."""
        if not begin:
            return {}
        earliest = self._earliest()
        gaps: dict[str, tuple[int, int, str]] = {}
        for p, nxt in begin.items():
            if p not in latest:
                reason = f"partition {p} of {self.topic} no longer exists"
                gaps[p] = (nxt, nxt, reason)
            elif nxt > latest[p]:
                reason = (f"{self.topic}/{p}: next offset {nxt} is beyond the end {latest[p]} (the "
                          "topic was re-created or the broker lost its log); reading from "
                          f"{earliest[p]}")
                gaps[p] = (nxt, earliest[p], reason)
            elif nxt < earliest[p]:
                reason = (f"{self.topic}/{p}: offsets {nxt}..{earliest[p] - 1} were deleted before "
                          "they were read (retention)")
                gaps[p] = (nxt, earliest[p], reason)
        if gaps and self.fail_on_data_loss:
            raise DataLossError("; ".join(g[2] for g in gaps.values()) + ". The query stops so "
                                "that nothing is lost silently; to read on and record the gap, "
                                "set failOnDataLoss=false (ECG_FAIL_ON_DATA_LOSS=false)")
        return gaps

    def latestOffset(self, start: dict, limit: ReadLimit) -> dict:
        latest = self._cap if self._cap is not None else self._latest()
        begin = {p: int(o) for p, o in start.get(self.topic, {}).items()}
        for p in latest:  # partitions added since start begin at 0
            begin.setdefault(p, 0)
        for p, (_, resume, _) in self._gaps(begin, latest).items():
            if p in latest:
                begin[p] = resume
        # Spark 4.3 hands Python sources ReadAllAvailable even when getDefaultReadLimit says
        # otherwise, so the maxOffsetsPerTrigger option is applied here, as the kafka source does.
        max_rows = limit.max_rows if isinstance(limit, ReadMaxRows) else self.max_rows
        if max_rows:
            return {self.topic: _limit(begin, latest, max_rows)}
        return {self.topic: {p: max(latest[p], begin[p]) for p in latest}}

    def partitions(self, start: dict, end: dict) -> Sequence[InputPartition]:
        begin = {p: int(o) for p, o in start.get(self.topic, {}).items()}
        stop = {p: int(o) for p, o in end.get(self.topic, {}).items()}
        for p in stop:
            begin.setdefault(p, 0)
        # the same checks as latestOffset against the planned ends (a start beyond its end is a
        # backward move): a batch replayed after a restart finds them here
        gaps = self._gaps(begin, stop)
        out = []
        for p, e in sorted(stop.items(), key=lambda kv: int(kv[0])):
            s = begin[p]
            gap = gaps.get(p)
            if gap is not None:
                s = min(gap[1], e)
            if e > s or gap is not None:
                out.append(KafkaRange(self.topic, int(p), s, e, self.bootstrap, self.security,
                                      gap[0] if gap else None, gap[2] if gap else ""))
        return out

    def read(self, partition: InputPartition) -> Iterator[pa.RecordBatch]:
        assert isinstance(partition, KafkaRange)
        yield from read_range(partition)

    def commit(self, end: dict) -> None:
        if not self.lag_group:
            return
        try:
            _commit_for_lag(self.bootstrap, self.lag_group, self.topic, end.get(self.topic, {}),
                            self.security)
        except Exception as exc:  # monitoring only: the checkpoint holds the real offsets
            log.warning("could not publish progress for group %s: %r", self.lag_group, exc)

    def stop(self) -> None:
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None


def _limit(begin: dict[str, int], latest: dict[str, int], max_rows: int) -> dict[str, int]:
    """Split `max_rows` over partitions in proportion to what each has available."""
    avail = {p: max(0, latest[p] - begin[p]) for p in latest}
    total = sum(avail.values())
    if total <= max_rows:
        return {p: begin[p] + avail[p] for p in latest}
    out = {}
    for p in latest:
        share = math.floor(avail[p] * max_rows / total)
        out[p] = begin[p] + max(share, 1 if avail[p] else 0)
    return out


def read_range(r: KafkaRange) -> Iterator[pa.RecordBatch]:
    """Rows of offsets [r.start, r.end) of one partition, in the built-in kafka source's schema,
    as Arrow record batches (one per poll): pyspark otherwise converts every yielded tuple to
    Arrow in Python, ~10 % of the pipeline's Python CPU at 750 beds (py-spy, issue 14)."""
    freeze_once()
    from kafka import TopicPartition

    tp = TopicPartition(r.topic, r.partition)
    if r.gap_from is not None:
        marker = json.dumps({"resume": r.start, "reason": r.gap_reason}).encode()
        yield _record_batch([None], [marker], r.topic, r.partition, [r.gap_from], [None],
                            [GAP_MARKER])
    if r.end <= r.start:
        return
    c = consumer(r.bootstrap, r.security, max_partition_fetch_bytes=8 * 1024 * 1024)
    try:
        c.assign([tp])
        c.seek(tp, r.start)
        nxt = r.start
        idle_deadline = time.monotonic() + 120
        while nxt < r.end:
            batch = c.poll(timeout_ms=500).get(tp, [])
            if not batch:
                if time.monotonic() > idle_deadline:
                    _raise_unreadable(c, tp, nxt, r.end)
                continue
            idle_deadline = time.monotonic() + 120
            keys, values, offsets, stamps, types = [], [], [], [], []
            for m in batch:
                if m.offset >= r.end:
                    break
                if m.offset < nxt:
                    continue
                keys.append(m.key)
                values.append(m.value)
                offsets.append(m.offset)
                stamps.append(_timestamp_us(m.timestamp))
                types.append(m.timestamp_type)
                nxt = m.offset + 1
            if offsets:
                yield _record_batch(keys, values, r.topic, r.partition, offsets, stamps, types)
            if batch and batch[-1].offset + 1 > nxt:
                # compacted or transactional gaps: move on to the next record present
                nxt = batch[-1].offset + 1
    finally:
        c.close()


# KAFKA_SCHEMA as pyspark's Arrow conversion of it (every field nullable, timestamps in µs, UTC)
_ARROW_SCHEMA = pa.schema([
    pa.field("key", pa.binary()), pa.field("value", pa.binary()), pa.field("topic", pa.string()),
    pa.field("partition", pa.int32()), pa.field("offset", pa.int64()),
    pa.field("timestamp", pa.timestamp("us", tz="UTC")), pa.field("timestampType", pa.int32()),
])


def _record_batch(keys: list, values: list, topic: str, partition: int, offsets: list,
                  stamps: list, types: list) -> pa.RecordBatch:
    n = len(offsets)
    return pa.RecordBatch.from_arrays(
        [pa.array(keys, pa.binary()), pa.array(values, pa.binary()),
         pa.array([topic] * n, pa.string()), pa.array([partition] * n, pa.int32()),
         pa.array(offsets, pa.int64()), pa.array(stamps, pa.timestamp("us", tz="UTC")),
         pa.array(types, pa.int32())],
        schema=_ARROW_SCHEMA,
    )


def _raise_unreadable(c: Any, tp: Any, nxt: int, end: int) -> None:
    """Nothing came for offsets [nxt, end) planned for this batch: lost (the log now ends or
    starts elsewhere: DataLossError, whatever failOnDataLoss says, as these offsets were already
    promised to the batch), or the broker is not serving them (TimeoutError: the query fails and
    `ecgdash spark` restarts it)."""
    hw = high_watermarks(c, [tp]).get(tp)
    first = c.beginning_offsets([tp]).get(tp)
    where = f"{tp.topic}/{tp.partition}"
    if hw is not None and hw < end:
        raise DataLossError(f"{where}: offsets {max(nxt, hw)}..{end - 1} of this batch are gone "
                            f"(the log now ends at {hw})")
    if first is not None and first > nxt:
        raise DataLossError(f"{where}: offsets {nxt}..{first - 1} of this batch were deleted "
                            "before they were read")
    raise TimeoutError(f"{where}: offsets {nxt}..{end - 1} unread for 120 s (the log holds "
                       f"{first}..{hw})")


def _timestamp_us(ms: int | None) -> int | None:
    """A Kafka timestamp (epoch ms) in µs; None when absent or outside years 1-9999 (a producer
    may send anything there; it must not fail the read)."""
    if ms is None or not _TS_MIN_MS <= ms < _TS_MAX_MS:
        return None
    return ms * 1000


_TS_MIN_MS = -62_135_596_800_000  # 0001-01-01
_TS_MAX_MS = 253_402_300_800_000  # 10000-01-01


def _commit_for_lag(bootstrap: str, group: str, topic: str, offsets: dict[str, int],
                    security: KafkaSecurity) -> None:
    from kafka import TopicPartition
    from kafka.structs import OffsetAndMetadata

    c = consumer(bootstrap, security, group_id=group)
    try:
        c.commit(
            {TopicPartition(topic, int(p)): OffsetAndMetadata(int(o), "", -1)
             for p, o in offsets.items()}
        )
    finally:
        c.close()


class KafkaDataSource(DataSource):
    """``spark.readStream.format("ecgkafka")``: Kafka rows in the built-in source's schema."""

    @classmethod
    def name(cls) -> str:
        return "ecgkafka"

    def schema(self) -> str:
        return KAFKA_SCHEMA

    def streamReader(self, schema: Any) -> DataSourceStreamReader:
        return KafkaStreamReader(dict(self.options))
