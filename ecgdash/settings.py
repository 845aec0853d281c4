"""The one settings object, read from the environment (prefix ``ECG_``) at the CLI edge only.

Library code never reads it: it takes explicit arguments. Secrets are ``SecretStr``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from ecgdash.core.kafka import KafkaSecurity
from ecgdash.spark_jobs.session import Checkpoint, checkpoint_path

DbMode = Literal["timescale", "postgres", "external"]


class Settings(BaseSettings):
    """Everything configurable about one ECGdashboard process."""

    # allow_inf_nan: an infinite trigger or backoff (ECG_RAW_TRIGGER_S=inf) is refused by name
    model_config = SettingsConfigDict(env_prefix="ECG_", frozen=True, extra="ignore", allow_inf_nan=False)

    home: Path = Field(Path(".ecgdash"), description="local state: data dirs, logs, PIDs, checkpoints")
    db_mode: DbMode = Field("timescale", description="timescale | postgres (local stack) | external")
    # external mode: DSNs of an existing database (a real TimescaleDB or RDS PostgreSQL)
    db_admin_dsn: SecretStr | None = Field(None, description="owner DSN used by `db migrate`")
    db_writer_dsn: SecretStr | None = Field(None, description="DSN of the ecg_writer role (jobs)")
    db_reader_dsn: SecretStr | None = Field(None, description="DSN of the ecg_reader role (reads)")
    db_writer_password: SecretStr | None = Field(None, description="set on ecg_writer by migrate")
    db_reader_password: SecretStr | None = Field(None, description="set on ecg_reader by migrate")
    retention_days: int = Field(30, ge=1, description="raw waveform retention (Timescale mode)")
    db_ca_file: str | None = Field(
        None, description="external mode: CA bundle (PEM) of the database's TLS certificate; set, "
        "every connection uses sslmode=verify-full against it"
    )

    kafka_bootstrap: str | None = Field(None, description="external brokers; local stack if unset")
    topic: str = "ecg.waveform"
    dlq_topic: str = "ecg.waveform.dlq"
    partitions: int = Field(4, ge=1)
    # how clients authenticate (Amazon MSK: SASL_SSL + SCRAM-SHA-512; see ecgdash.kafka_security)
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: str | None = Field(None, description="CA bundle (PEM); default: system CAs")
    kafka_format: Literal["ecgkafka", "kafka"] = Field(
        "ecgkafka", description="Spark source: our Python source, or Spark's kafka connector"
    )

    max_offsets_per_trigger: int = Field(
        20_000, ge=1, description="cap on Kafka messages per micro-batch: ~1.5 kB each, so a "
        "batch after an outage stays a few hundred MB on the driver (1,000 beds x 20 s)"
    )
    fail_on_data_loss: bool = Field(
        True, description="offsets gone from the topic: stop the job (true) or read on and "
        "record the gap in data_loss_gaps (false)"
    )
    restart_backoff_max_s: float = Field(
        300.0, gt=0, description="`ecgdash spark`: longest wait before restarting a failed query"
    )
    fault_exit_after_commit: int | None = Field(
        None, description="fault-injection tests only: end the job right after committing this "
        "batch id, before Spark checkpoints it"
    )
    spark_master: str = "local[2]"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "WARNING", description="INFO adds a progress line per streaming query every "
        "ECG_PROGRESS_INTERVAL_S (batches, durations, rows)"
    )
    progress_interval_s: float = Field(30.0, gt=0, description="see ECG_LOG_LEVEL")
    spark_shuffle_partitions: int = Field(
        4, ge=1, description="tasks holding the heart-rate job's per-patient state: about the "
        "executor cores (only read when a query starts with a fresh checkpoint)"
    )
    spark_state_store: Literal["hdfs", "rocksdb"] = Field(
        "hdfs", description="state store of a new checkpoint's per-patient state (Spark keeps "
        "the one a checkpoint was created with)"
    )
    raw_trigger_s: float = Field(2.0, gt=0)
    hr_trigger_s: float = Field(60.0, ge=5, description="heart-rate job trigger, 5 s or more")
    alarm_trigger_s: float = Field(2.0, gt=0, description="alarm job trigger (ecgdash alarms job)")
    alarm_writes_beats: bool = Field(
        True, description="the alarm job also stores the beats, RR, heart rate and signal quality "
        "its detector finds (one detector per patient); false: the heart-rate job stores them and "
        "`ecgdash spark pipeline` runs it too"
    )
    alarm_groups: int = Field(
        32, ge=1, le=4096, description="the alarm job hashes patients to this many state groups "
        "(one pyspark call per group and batch, not per patient); fixed per checkpoint: a change "
        "restarts every patient's monitor"
    )
    checkpoint_dir: str | None = Field(
        None, description="default: <home>/checkpoints; a folder or a Hadoop URI (hdfs://, s3://)"
    )

    def kafka_security(self) -> KafkaSecurity:
        """The Kafka client security these settings describe (raises ConfigError if incomplete)."""
        pw = self.kafka_sasl_password.get_secret_value() if self.kafka_sasl_password else None
        return KafkaSecurity(self.kafka_security_protocol, self.kafka_sasl_mechanism,
                             self.kafka_sasl_username, pw, self.kafka_ssl_cafile)  # fmt: skip

    def checkpoint(self, query: str) -> Checkpoint:
        """Checkpoint location of one streaming query: a Path, or a URI string kept as given."""
        return checkpoint_path(self.checkpoint_dir or self.home / "checkpoints", query)


def describe_errors(exc: ValidationError) -> list[str]:
    """One line per bad setting, naming its environment variable; never echoes a secret's value."""
    prefix = str(Settings.model_config.get("env_prefix", ""))
    out = []
    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"])
        info = Settings.model_fields.get(field)
        secret = info is not None and "SecretStr" in str(info.annotation)
        shown = "" if secret else f" (got {err.get('input')!r})"
        out.append(f"{prefix}{field}".upper() + f": {err['msg']}{shown}")
    return out
