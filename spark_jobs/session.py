"""A SparkSession for the jobs: local by default, bound to 127.0.0.1, our Kafka source registered."""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from py4j.protocol import Py4JError
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.streaming import StreamingQuery

from ecgdash.core.kafka import PLAINTEXT, KafkaSecurity
from ecgdash.spark_jobs.kafka_source import KafkaDataSource

_FAIR_SCHEDULER = Path(str(resources.files("ecgdash.spark_jobs") / "fairscheduler.xml"))


STATE_STORES = {
    "hdfs": "org.apache.spark.sql.execution.streaming.state.HDFSBackedStateStoreProvider",
    "rocksdb": "org.apache.spark.sql.execution.streaming.state.RocksDBStateStoreProvider",
}


def make_spark(master: str = "local[2]", app_name: str = "ecgdash", shuffle_partitions: int = 4,
               state_store: str = "hdfs") -> SparkSession:
    """Build (or reuse) the session; Python workers use this interpreter (the venv's).

    `shuffle_partitions` is how many tasks the heart-rate job's per-patient state is spread
    over: about the number of executor cores (4 for local[2]; raise it with the cluster).
    `state_store`: where the per-patient state of a *new* checkpoint lives, Spark's default
    ("hdfs": in the JVM heap, copied every batch) or RocksDB (off-heap, changelog checkpoints);
    Spark keeps the provider a checkpoint was created with.
    """
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    # pyspark's applyInPandasWithState pads its frames with all-NA rows, which pandas 2 warns
    # about on every batch (pyspark/worker.py): silence that one warning in the Python workers
    # (they inherit the JVM's environment, which is this process's at launch)
    if "PYTHONWARNINGS" not in os.environ:
        os.environ["PYTHONWARNINGS"] = "ignore::FutureWarning:pyspark.worker"
    builder = (
        SparkSession.builder.master(master).appName(app_name)
        .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
        .config("spark.ui.showConsoleProgress", "false")
        # each query gets its own pool (start_query), so the alarm job's batch is not queued
        # behind the raw writer's jobs, nor the other way round
        .config("spark.scheduler.mode", "FAIR")
        .config("spark.scheduler.allocation.file", str(_FAIR_SCHEDULER))
        .config("spark.sql.streaming.stopGracefullyOnShutdown", "true")
        .config("spark.python.worker.reuse", "true")
        .config("spark.sql.streaming.stateStore.providerClass", STATE_STORES[state_store])
        .config("spark.sql.streaming.stateStore.rocksdb.changelogCheckpointing.enabled", "true")
    )
    if master.startswith("local") or _on_loopback(master):
        # a local run (local[N], or a standalone cluster on this machine): nothing listens
        # beyond 127.0.0.1 and no web UI
        builder = (
            builder.config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.ui.enabled", "false")
            .config("spark.driver.memory", "2g")
        )
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    spark.dataSource.register(KafkaDataSource)
    return spark


def _on_loopback(master: str) -> bool:
    """Whether ``master`` is a cluster manager on this machine (spark://127.0.0.1:7077 etc.)."""
    m = re.match(r"^spark://([^:/]+)", master)
    return m is not None and m.group(1) in ("127.0.0.1", "localhost")


@dataclass(frozen=True)
class StreamSource:
    """Where a query reads: the waveform topic, through our source or Spark's kafka connector."""

    bootstrap: str
    topic: str
    source_format: str = "ecgkafka"
    starting_offsets: str = "earliest"
    max_offsets_per_trigger: int | None = None
    security: KafkaSecurity = PLAINTEXT
    fail_on_data_loss: bool = True  # offsets gone: stop (True) or read on and record the gap


def read_topic(spark: SparkSession, src: StreamSource, query_name: str) -> DataFrame:
    """The topic as a streaming DataFrame in the built-in kafka source's schema."""
    reader = (
        spark.readStream.format(src.source_format)
        .option("kafka.bootstrap.servers", src.bootstrap)
        .option("subscribe", src.topic)
        .option("startingOffsets", src.starting_offsets)
        .option("failOnDataLoss", str(src.fail_on_data_loss).lower())
    )
    if src.source_format == "ecgkafka":
        reader = reader.option("groupIdForLag", f"ecgdash.{query_name}")
    if src.max_offsets_per_trigger:
        reader = reader.option("maxOffsetsPerTrigger", str(src.max_offsets_per_trigger))
    for key, value in src.security.spark_options().items():
        reader = reader.option(key, value)
    return reader.load()


def start_query(
    df: DataFrame, query_name: str, sink: Callable[[DataFrame, int], None], checkpoint: Checkpoint,
    trigger_s: float, available_now: bool,
) -> StreamingQuery:
    """Start `df` into the foreachBatch `sink`, checkpointed; availableNow or a fixed trigger."""
    stream = (
        df.writeStream.queryName(query_name).foreachBatch(sink)
        .option("checkpointLocation", str(checkpoint)).outputMode("append")
    )
    stream = (
        stream.trigger(availableNow=True) if available_now
        else stream.trigger(processingTime=f"{trigger_s} seconds")
    )
    sc = df.sparkSession.sparkContext
    sc.setLocalProperty("spark.scheduler.pool", query_name)  # inherited by the query's thread
    try:
        return stream.start()
    finally:
        sc.setLocalProperty("spark.scheduler.pool", None)


Checkpoint = Path | str  # a local folder, or a Hadoop URI string (hdfs://..., s3://...)

_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def checkpoint_path(base: Path | str, name: str) -> Checkpoint:
    """``base``/``name``: a Path for a local folder, a string for a URI (``Path`` would turn
    ``s3://bucket/x`` into ``s3:/bucket/x``)."""
    text = str(base)
    if _URI.match(text):
        return f"{text.rstrip('/')}/{name}"
    return Path(base) / name


def query_id(checkpoint: Checkpoint, spark: SparkSession | None = None) -> str:
    """Spark's id of the query checkpointed at `checkpoint` (written before its first batch).

    Stable across restarts from that checkpoint, new for a new one: with the batch id it names a
    micro-batch for good, which is what the exactly-once ledger needs. A URI checkpoint (HDFS,
    S3 on EMR) is read through Spark's Hadoop file system, so ``spark`` is needed then.
    """
    try:
        if isinstance(checkpoint, str) and _URI.match(checkpoint):
            if spark is None:
                raise ValueError("a Spark session is needed to read a URI checkpoint")
            text = _read_hadoop(spark, f"{checkpoint.rstrip('/')}/metadata")
        else:
            text = (Path(checkpoint) / "metadata").read_text()
        qid = json.loads(text)["id"]
        if not isinstance(qid, str) or not qid:
            raise ValueError(f"the id is {qid!r}, not a non-empty string")
        return qid
    except (OSError, ValueError, KeyError, TypeError, Py4JError) as exc:
        raise RuntimeError(f"no query id in checkpoint {checkpoint}: {exc}") from exc


def _read_hadoop(spark: SparkSession, uri: str) -> str:
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    path = jvm.org.apache.hadoop.fs.Path(uri)
    stream = path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()).open(path)
    try:
        return str(jvm.org.apache.commons.io.IOUtils.toString(stream, "UTF-8"))
    finally:
        stream.close()
