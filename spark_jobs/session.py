"""A SparkSession for the jobs: local by default, bound to 127.0.0.1, our Kafka source registered."""

from __future__ import annotations

import os
import sys

from pyspark.sql import SparkSession

from spark_jobs.kafka_source import KafkaDataSource


def make_spark(master: str = "local[2]", app_name: str = "ecgdash") -> SparkSession:
    """Build (or reuse) the session; Python workers use this interpreter (the venv's)."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = SparkSession.builder.master(master).appName(app_name)
    if master.startswith("local"):
        builder = (
            builder.config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", "4")
            .config("spark.sql.streaming.stopGracefullyOnShutdown", "true")
            .config("spark.python.worker.reuse", "true")
            .config("spark.driver.memory", "2g")
        )
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    spark.dataSource.register(KafkaDataSource)
    return spark
