"""The jobs' Spark plumbing: checkpoint locations, the query id kept in a checkpoint, and
``read_topic``'s options reaching a real streaming query (start offsets, per-batch cap, progress
published for lag monitoring)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from kafka import TopicPartition

from ecgdash.core.kafka import consumer
from ecgdash.spark_jobs.session import StreamSource, checkpoint_path, query_id, read_topic, start_query
from tests.helpers.kafka import fill_partitions

# --- checkpoint_path -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "base,expected",
    [
        ("s3://bucket/ecg/checkpoints", "s3://bucket/ecg/checkpoints/raw_writer"),
        ("s3a://bucket/ck/", "s3a://bucket/ck/raw_writer"),
        ("hdfs://namenode:8020/ck/", "hdfs://namenode:8020/ck/raw_writer"),
        ("hdfs:/ecgdash/checkpoints", "hdfs:/ecgdash/checkpoints/raw_writer"),
        ("file:///var/lib/ecg", "file:///var/lib/ecg/raw_writer"),
    ],
)
def test_uri_checkpoints_keep_their_scheme(base: str, expected: str) -> None:
    """A URI stays a string: ``Path("s3://b/x")`` would read ``s3:/b/x``."""
    got = checkpoint_path(base, "raw_writer")
    assert isinstance(got, str) and got == expected


@pytest.mark.parametrize("base", ["/var/lib/ecg", "relative/ck", "C_drive/ck"])
def test_local_checkpoints_are_paths(base: str) -> None:
    got = checkpoint_path(base, "hr_job")
    assert isinstance(got, Path) and got == Path(base) / "hr_job"
    assert checkpoint_path(Path(base), "hr_job") == Path(base) / "hr_job"


# --- query_id without Spark ------------------------------------------------------------------

def test_query_id_reads_the_checkpoint_metadata(tmp_path: Path) -> None:
    (tmp_path / "metadata").write_text('{"id":"6f1c0d8e-1f0b-4c55-9d1e-2b7a3c9e5f00"}\n')
    assert query_id(tmp_path) == "6f1c0d8e-1f0b-4c55-9d1e-2b7a3c9e5f00"
    assert query_id(str(tmp_path)) == "6f1c0d8e-1f0b-4c55-9d1e-2b7a3c9e5f00"


@pytest.mark.parametrize(
    "content", [None, "", "not json", '{"runId": "x"}', "[]", '{"id": null}', '{"id": ""}'])
def test_query_id_names_the_checkpoint_it_cannot_read(tmp_path: Path, content: str | None) -> None:
    if content is not None:
        (tmp_path / "metadata").write_text(content)
    with pytest.raises(RuntimeError, match=f"no query id in checkpoint {tmp_path}"):
        query_id(tmp_path)


def test_uri_checkpoint_needs_spark() -> None:
    with pytest.raises(RuntimeError, match="Spark session is needed"):
        query_id("s3://bucket/ck")


# --- a real query ----------------------------------------------------------------------------

def _run(spark, src: StreamSource, name: str, checkpoint) -> tuple[object, list[list[tuple]]]:
    """Run `src` once with trigger(availableNow=True); the (partition, offset, value) rows of each
    micro-batch that had any."""
    batches: list[list[tuple]] = []

    def sink(df, batch_id: int) -> None:
        rows = [(r.partition, r.offset, r.value.decode()) for r in df.collect()]
        if rows:
            batches.append(rows)

    query = start_query(read_topic(spark, src, name), name, sink, checkpoint, trigger_s=1.0,
                        available_now=True)
    try:
        assert query.awaitTermination(600), "the availableNow query did not finish"
        assert query.exception() is None
    finally:
        query.stop()
    return query, batches


def _committed(broker: str, group: str, topic: str) -> dict[int, int | None]:
    c = consumer(broker, group_id=group)
    try:
        return {p: c.committed(TopicPartition(topic, p)) for p in range(4)}
    finally:
        c.close()


@pytest.mark.integration
def test_query_reads_from_its_options_and_keeps_its_id(broker: str, topic: str, spark,
                                                      tmp_path: Path) -> None:
    """read_topic's startingOffsets (JSON) and maxOffsetsPerTrigger shape the batches; the query
    id is the checkpoint's, the same after a restart from it and new for a new checkpoint."""
    fill_partitions(broker, topic, {0: 10, 1: 10, 2: 10, 3: 10})
    name = f"session_{uuid.uuid4().hex[:6]}"
    ck = checkpoint_path(tmp_path / "ck", name)
    src = StreamSource(broker, topic, starting_offsets=json.dumps({topic: {"0": 5}}),
                       max_offsets_per_trigger=12)
    q1, batches = _run(spark, src, name, ck)

    seen = sorted((p, o) for b in batches for p, o, _ in b)
    assert seen == [(0, o) for o in range(5, 10)] + [(p, o) for p in (1, 2, 3) for o in range(10)]
    assert all(len(b) <= 12 for b in batches) and len(batches) >= 3
    assert all(v == f"m-{p}-{o}" for b in batches for p, o, v in b)

    # the id Spark wrote into the checkpoint, read from the folder and through Hadoop's file system
    assert query_id(ck) == q1.id
    assert query_id(f"file://{ck}", spark) == q1.id

    # restart from the checkpoint: the same id, and only what came since
    fill_partitions(broker, topic, {0: 2, 2: 1}, tag="late")
    q2, again = _run(spark, src, name, ck)
    assert q2.id == q1.id and q2.runId != q1.runId
    assert sorted((p, o, v) for b in again for p, o, v in b) == [
        (0, 10, "late-0-0"), (0, 11, "late-0-1"), (2, 10, "late-2-0")]
    # progress was published for lag tools under ecgdash.<query name> (at least the first run's)
    committed = _committed(broker, f"ecgdash.{name}", topic)
    assert committed[1] == committed[3] == 10 and committed[0] in (10, 12)

    # a new checkpoint is a new query; startingOffsets=latest skips what the topic holds
    ck3 = checkpoint_path(tmp_path / "ck", name + "_latest")
    q3, none = _run(spark, StreamSource(broker, topic, starting_offsets="latest"), name + "_latest", ck3)
    assert none == [] and query_id(ck3) == q3.id != q1.id
