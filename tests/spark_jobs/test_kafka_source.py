"""The ``ecgkafka`` Spark source: where a query starts (earliest, latest, JSON offsets), how far
each micro-batch goes (maxOffsetsPerTrigger split over partitions, the availableNow cap), which
partitions a batch reads, and the rows it reads.

The reader is driven here as Spark drives it (initialOffset, latestOffset, partitions, read,
commit), against the real broker, without starting Spark; tests/spark_jobs/test_session.py runs
it inside a real streaming query.
"""

from __future__ import annotations

import json
import logging
import pickle
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from kafka import TopicPartition
from pyspark.sql.streaming.datasource import ReadAllAvailable, ReadMaxRows

from ecgdash.core.errors import DataLossError
from ecgdash.core.kafka import KafkaSecurity, consumer
from ecgdash.spark_jobs.kafka_source import (
    GAP_MARKER,
    KAFKA_SCHEMA,
    KafkaDataSource,
    KafkaRange,
    KafkaStreamReader,
    _limit,
)
from tests.helpers.kafka import fill_partitions

COUNTS = {0: 10, 1: 4, 2: 0, 3: 6}  # messages per partition of the 4-partition test topic


_OPEN: list[KafkaStreamReader] = []


def reader(broker: str, topic: str, **options: str) -> KafkaStreamReader:
    """A reader with the options as a user writes them; its client is closed after the test."""
    r = KafkaStreamReader({"kafka.bootstrap.servers": broker, "subscribe": topic, **options})
    _OPEN.append(r)
    return r


def read_rows(r: KafkaStreamReader, k: KafkaRange) -> list[tuple]:
    """What ``read`` gives (Arrow record batches) as tuples in the schema's column order."""
    return [tuple(row.values()) for batch in r.read(k) for row in batch.to_pylist()]


@pytest.fixture(autouse=True)
def _stop_readers():
    yield
    while _OPEN:
        _OPEN.pop().stop()


@pytest.fixture
def filled(broker: str, topic: str) -> str:
    fill_partitions(broker, topic, COUNTS)
    return topic


# --- _limit: maxOffsetsPerTrigger split over partitions ----------------------------------------

def test_limit_everything_fits() -> None:
    assert _limit({"0": 5, "1": 0}, {"0": 10, "1": 3}, 8) == {"0": 10, "1": 3}
    assert _limit({"0": 5, "1": 0}, {"0": 10, "1": 3}, 100) == {"0": 10, "1": 3}


def test_limit_splits_in_proportion() -> None:
    # 300 and 100 available, 100 allowed: 75 and 25
    assert _limit({"0": 0, "1": 1000}, {"0": 300, "1": 1100}, 100) == {"0": 75, "1": 1025}
    # shares are rounded down: 7 * 10 / 21 = 3.33 -> 3 each
    assert _limit({"0": 0, "1": 0, "2": 0}, {"0": 7, "1": 7, "2": 7}, 10) == {"0": 3, "1": 3, "2": 3}


def test_limit_single_partition_is_capped_exactly() -> None:
    assert _limit({"0": 40}, {"0": 1040}, 250) == {"0": 290}


def test_limit_small_partition_still_advances() -> None:
    """A partition whose share rounds to 0 still gets 1 message, as Spark's kafka source does,
    so a busy partition cannot starve a quiet one."""
    assert _limit({"0": 0, "1": 0}, {"0": 1000, "1": 1}, 10) == {"0": 9, "1": 1}
    # four partitions with 1 message each and a cap of 2: each advances by one (4 > 2)
    assert _limit({p: 0 for p in "0123"}, {p: 1 for p in "0123"}, 2) == {p: 1 for p in "0123"}


def test_limit_empty_and_receding_partitions_stay() -> None:
    """Nothing available, or an end below the start (a broker's short answer): no move, never
    backwards."""
    assert _limit({"0": 5, "1": 9, "2": 0}, {"0": 5, "1": 3, "2": 50}, 10) == {"0": 5, "1": 9, "2": 10}
    assert _limit({"0": 5, "1": 9}, {"0": 5, "1": 3}, 10) == {"0": 5, "1": 9}


@given(
    st.dictionaries(st.sampled_from([str(i) for i in range(8)]),
                    st.tuples(st.integers(0, 10**6), st.integers(-1000, 10**5)),
                    min_size=1),
    st.integers(1, 10**5),
)
def test_limit_properties(parts: dict[str, tuple[int, int]], max_rows: int) -> None:
    begin = {p: b for p, (b, _) in parts.items()}
    latest = {p: max(0, b + d) for p, (b, d) in parts.items()}
    out = _limit(begin, latest, max_rows)
    assert set(out) == set(latest)
    avail = {p: max(0, latest[p] - begin[p]) for p in latest}
    taken = {p: out[p] - begin[p] for p in out}
    for p in out:
        assert 0 <= taken[p] <= avail[p]  # never backwards, never past the end
        assert (taken[p] > 0) == (avail[p] > 0)  # every partition with data advances
    total, n_busy = sum(avail.values()), sum(1 for a in avail.values() if a)
    if total <= max_rows:
        assert taken == avail
    else:  # at most one over the cap per partition (the minimum of 1), at most one under by rounding
        assert max_rows - n_busy <= sum(taken.values()) <= max_rows + n_busy


# --- options ---------------------------------------------------------------------------------

def test_options_are_case_insensitive_and_default_to_earliest() -> None:
    r = KafkaStreamReader({"KAFKA.BOOTSTRAP.SERVERS": "h:1", "Subscribe": "t",
                           "MAXOFFSETSPERTRIGGER": "7", "groupIdForLag": "g"})
    assert (r.bootstrap, r.topic, r.starting, r.max_rows, r.lag_group) == ("h:1", "t", "earliest", 7, "g")
    limit = r.getDefaultReadLimit()
    assert isinstance(limit, ReadMaxRows) and limit.max_rows == 7
    plain = KafkaStreamReader({"kafka.bootstrap.servers": "h:1", "subscribe": "t"})
    assert isinstance(plain.getDefaultReadLimit(), ReadAllAvailable)
    assert plain.max_rows is None and plain.lag_group is None


def test_security_options_reach_the_reader_and_stay_out_of_reprs() -> None:
    msk = KafkaSecurity("SASL_SSL", "SCRAM-SHA-512", "ecg", "s3cret-pw")
    r = KafkaStreamReader({"kafka.bootstrap.servers": "h:1", "subscribe": "t", **msk.spark_options()})
    assert r.security == msk
    rng = KafkaRange("t", 0, 0, 5, "h:1", msk)
    assert "s3cret-pw" not in repr(rng)


def test_reader_and_ranges_pickle(broker: str, filled: str) -> None:
    """Spark pickles readers and partitions: they travel without a Kafka client (made lazily)."""
    r = reader(broker, filled)
    back = pickle.loads(pickle.dumps(r))
    assert back.topic == filled and back._consumer is None
    rng = KafkaRange(filled, 1, 0, 4, broker)
    assert pickle.loads(pickle.dumps(rng)) == rng


def test_data_source_has_the_builtin_kafka_schema() -> None:
    assert KafkaDataSource.name() == "ecgkafka"
    fields = [f.split()[0] for f in KAFKA_SCHEMA.split(", ")]
    assert fields == ["key", "value", "topic", "partition", "offset", "timestamp", "timestampType"]


# --- startingOffsets ---------------------------------------------------------------------------

def test_starting_earliest(broker: str, filled: str) -> None:
    assert reader(broker, filled).initialOffset() == {filled: {"0": 0, "1": 0, "2": 0, "3": 0}}
    assert reader(broker, filled, startingOffsets="earliest").initialOffset() == {
        filled: {"0": 0, "1": 0, "2": 0, "3": 0}}


def test_starting_latest_is_the_high_watermark(broker: str, filled: str) -> None:
    """The end of each partition, from Fetch responses (Tansu's ListOffsets(LATEST) is short)."""
    assert reader(broker, filled, startingOffsets="latest").initialOffset() == {
        filled: {str(p): n for p, n in COUNTS.items()}}


def test_starting_json(broker: str, filled: str) -> None:
    given_ = json.dumps({filled: {"0": 7, "3": 2}, "other.topic": {"0": 99}})
    r = reader(broker, filled, startingOffsets=given_)
    start = r.initialOffset()
    assert start == {filled: {"0": 7, "3": 2}}
    # partitions the JSON does not name start at their beginning
    end = r.latestOffset(start, ReadAllAvailable())
    assert end == {filled: {"0": 10, "1": 4, "2": 0, "3": 6}}
    assert [(k.partition, k.start, k.end) for k in r.partitions(start, end)] == [
        (0, 7, 10), (1, 0, 4), (3, 2, 6)]


def test_starting_json_special_offsets(broker: str, filled: str) -> None:
    """As in Spark's kafka source, -2 in the JSON means the partition's earliest offset and -1
    its latest."""
    r = reader(broker, filled, startingOffsets=json.dumps({filled: {"0": -2, "1": -1, "3": 1}}))
    assert r.initialOffset() == {filled: {"0": 0, "1": 4, "3": 1}}


def test_starting_json_bad_offset_is_named(broker: str, filled: str) -> None:
    for bad in ({"0": -3}, {"9": -1}):
        r = reader(broker, filled, startingOffsets=json.dumps({filled: bad}))
        with pytest.raises(ValueError, match=f"offset -. of {filled} partition . is not an offset"):
            r.initialOffset()


def test_starting_json_for_another_topic_is_named(broker: str, filled: str) -> None:
    r = reader(broker, filled, startingOffsets=json.dumps({"other.topic": {"0": 1}}))
    with pytest.raises(ValueError, match=f"startingOffsets has no offsets for topic {filled}"):
        r.initialOffset()


# --- latestOffset: how far a micro-batch goes --------------------------------------------------

def test_all_available_without_a_cap(broker: str, filled: str) -> None:
    r = reader(broker, filled)
    start = r.initialOffset()
    assert r.latestOffset(start, ReadAllAvailable()) == {filled: {"0": 10, "1": 4, "2": 0, "3": 6}}


def test_max_offsets_per_trigger_option_caps_each_batch(broker: str, filled: str) -> None:
    """Spark 4.3 hands Python sources ReadAllAvailable: the option is applied all the same."""
    r = reader(broker, filled, maxOffsetsPerTrigger="10")
    start = r.initialOffset()
    end = r.latestOffset(start, ReadAllAvailable())
    # 20 available (10, 4, 0, 6), 10 allowed: 5, 2, 0, 3
    assert end == {filled: {"0": 5, "1": 2, "2": 0, "3": 3}}
    # the next batch goes on from there; what is left (10 messages) fits
    assert r.latestOffset(end, ReadAllAvailable()) == {filled: {"0": 10, "1": 4, "2": 0, "3": 6}}


def test_read_limit_from_spark_is_honoured(broker: str, filled: str) -> None:
    r = reader(broker, filled)
    end = r.latestOffset(r.initialOffset(), ReadMaxRows(4))
    assert end == {filled: {"0": 2, "1": 1, "2": 0, "3": 1}}


def test_batches_under_a_cap_cover_every_offset_once(broker: str, filled: str) -> None:
    r = reader(broker, filled, maxOffsetsPerTrigger="3")
    offset, seen, batches = r.initialOffset(), [], 0
    while True:
        end = r.latestOffset(offset, ReadAllAvailable())
        if end == offset:
            break
        batch = [(row[3], row[4]) for k in r.partitions(offset, end) for row in read_rows(r, k)]
        assert 0 < len(batch) <= 3 + len(COUNTS)
        seen += batch
        offset, batches = end, batches + 1
    assert sorted(seen) == [(p, o) for p, n in sorted(COUNTS.items()) for o in range(n)]
    assert batches >= 20 // (3 + len(COUNTS))


def test_partitions_added_since_the_start_begin_at_zero(broker: str, filled: str) -> None:
    """A start offset written when the topic had fewer partitions (partitions 0 and 1 only)."""
    r = reader(broker, filled)
    start = {filled: {"0": 3, "1": 4}}
    end = r.latestOffset(start, ReadAllAvailable())
    assert end == {filled: {"0": 10, "1": 4, "2": 0, "3": 6}}
    assert [(k.partition, k.start, k.end) for k in r.partitions(start, end)] == [(0, 3, 10), (3, 0, 6)]


def test_start_beyond_the_end_is_data_loss(broker: str, filled: str) -> None:
    """A start beyond the partition's high watermark (read from a Fetch, never Tansu's short
    ListOffsets answer) means the log went backwards: the query stops, naming it."""
    r = reader(broker, filled)
    start = {filled: {"0": 12, "1": 4, "2": 0, "3": 6}}
    with pytest.raises(DataLossError, match=f"{filled}/0: next offset 12 is beyond the end 10"):
        r.latestOffset(start, ReadAllAvailable())
    with pytest.raises(DataLossError):
        r.partitions(start, {filled: {"0": 10, "1": 4, "2": 0, "3": 6}})


def test_start_beyond_the_end_reads_the_new_log_and_marks_the_gap(broker: str, filled: str) -> None:
    """failOnDataLoss=false: read the partition's log from its start, with a gap marker first."""
    r = reader(broker, filled, failOnDataLoss="false")
    start = {filled: {"0": 12, "1": 4, "2": 0, "3": 6}}
    end = r.latestOffset(start, ReadAllAvailable())
    assert end == {filled: {"0": 10, "1": 4, "2": 0, "3": 6}}
    parts = r.partitions(start, end)
    assert [(k.partition, k.start, k.end, k.gap_from) for k in parts] == [(0, 0, 10, 12)]
    rows = read_rows(r, parts[0])
    assert rows[0][0] is None and rows[0][4] == 12 and rows[0][6] == GAP_MARKER
    assert json.loads(rows[0][1])["resume"] == 0 and len(rows) == 11


def test_available_now_stops_at_what_was_there(broker: str, filled: str) -> None:
    """trigger(availableNow=True): the end is fixed when the query starts; messages produced
    later wait for the next run."""
    r = reader(broker, filled, maxOffsetsPerTrigger="12")
    start = r.initialOffset()
    r.prepareForTriggerAvailableNow()
    fill_partitions(broker, filled, {0: 5, 2: 3}, tag="late")
    first = r.latestOffset(start, ReadAllAvailable())
    assert first == {filled: {"0": 6, "1": 2, "2": 0, "3": 3}}  # 12 of the 20 there at the start
    assert r.latestOffset(first, ReadAllAvailable()) == {filled: {"0": 10, "1": 4, "2": 0, "3": 6}}
    later = reader(broker, filled)  # a new run sees the late messages
    assert later.latestOffset(start, ReadAllAvailable()) == {filled: {"0": 15, "1": 4, "2": 3, "3": 6}}


# --- partitions and read -------------------------------------------------------------------------

def test_partitions_are_the_non_empty_ranges_in_order(broker: str, filled: str) -> None:
    r = reader(broker, filled)
    start = {filled: {"0": 2, "1": 4, "2": 0, "3": 0}}
    end = {filled: {"3": 6, "1": 4, "0": 10, "2": 0}}
    ranges = r.partitions(start, end)
    assert all(isinstance(k, KafkaRange) and k.topic == filled and k.bootstrap == broker for k in ranges)
    assert [(k.partition, k.start, k.end) for k in ranges] == [(0, 2, 10), (3, 0, 6)]


def test_read_gives_exactly_the_range_in_the_kafka_schema(broker: str, filled: str) -> None:
    before = datetime.now(UTC)
    rows = read_rows(reader(broker, filled), KafkaRange(filled, 0, 3, 7, broker))
    assert [r[4] for r in rows] == [3, 4, 5, 6]
    for key, value, topic, partition, offset, ts, ts_type in rows:
        assert (key, value) == (b"p0", f"m-0-{offset}".encode())
        assert (topic, partition, ts_type) == (filled, 0, 0)  # 0: CreateTime
        assert ts.tzinfo is not None and abs((ts - before).total_seconds()) < 600


def test_read_batches_have_the_arrow_schema_pyspark_expects(broker: str, filled: str,
                                                            spark) -> None:
    """pyspark passes a data source's Arrow batches on only when their schema equals its own
    conversion of the declared schema (else DATA_SOURCE_RETURN_SCHEMA_MISMATCH)."""
    from pyspark.sql.pandas.types import to_arrow_schema

    expected = to_arrow_schema(spark.createDataFrame([], KAFKA_SCHEMA).schema, timezone="UTC")
    batches = list(reader(broker, filled).read(KafkaRange(filled, 0, 3, 7, broker)))
    assert batches and all(b.schema.equals(expected) for b in batches)


# --- commit: progress for lag monitoring -------------------------------------------------------

def _committed(broker: str, group: str, topic: str) -> dict[int, int | None]:
    c = consumer(broker, group_id=group)
    try:
        return {p: c.committed(TopicPartition(topic, p)) for p in COUNTS}
    finally:
        c.close()


def test_commit_publishes_progress_under_the_lag_group(broker: str, filled: str) -> None:
    group = f"ecgdash.lag.{filled}"
    r = reader(broker, filled, groupIdForLag=group)
    r.commit({filled: {"0": 10, "1": 3, "3": 6}})
    assert _committed(broker, group, filled) == {0: 10, 1: 3, 2: None, 3: 6}


def test_commit_without_a_lag_group_commits_nothing(broker: str, filled: str) -> None:
    r = reader(broker, filled)
    r.commit({filled: {"0": 10}})  # no group: nothing to publish, nothing to fail


def test_failed_lag_commit_is_a_warning_not_a_failure(broker: str, filled: str,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    """The checkpoint holds the real offsets: progress for monitoring that cannot be published
    (here an offset Kafka cannot take; an unreachable broker takes 30 s to give up) is logged,
    and the batch goes on."""
    r = reader(broker, filled, groupIdForLag="g")
    with caplog.at_level(logging.WARNING, logger="ecgdash.spark_jobs.kafka_source"):
        r.commit({filled: {"0": "end"}})
    assert "could not publish progress for group g" in caplog.text
