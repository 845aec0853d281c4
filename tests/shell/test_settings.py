"""The one settings object: defaults, the ``ECG_`` prefix, validation, secrets kept out of every
printout, and checkpoint locations (a URI keeps its scheme and authority)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from ecgdash.core.kafka import PLAINTEXT, KafkaSecurity
from ecgdash.settings import Settings, describe_errors

SECRET = "hunter2-not-for-logs"
SECRET_FIELDS = ["db_admin_dsn", "db_writer_dsn", "db_reader_dsn", "db_writer_password",
                 "db_reader_password", "kafka_sasl_password"]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts from an environment without ECG_* variables."""
    for name in list(os.environ):
        if name.upper().startswith("ECG_"):
            monkeypatch.delenv(name)


def test_defaults_are_the_documented_ones() -> None:
    s = Settings()
    assert s.home == Path(".ecgdash") and s.db_mode == "timescale"
    assert (s.topic, s.dlq_topic, s.partitions) == ("ecg.waveform", "ecg.waveform.dlq", 4)
    assert (s.raw_trigger_s, s.hr_trigger_s, s.max_offsets_per_trigger) == (2.0, 60.0, 20_000)
    assert (s.fail_on_data_loss, s.restart_backoff_max_s, s.fault_exit_after_commit) == (True, 300.0, None)
    assert (s.spark_shuffle_partitions, s.db_ca_file) == (4, None)
    assert (s.retention_days, s.kafka_format, s.spark_master) == (30, "ecgkafka", "local[2]")
    assert s.kafka_bootstrap is None and s.checkpoint_dir is None
    assert s.kafka_security_protocol == "PLAINTEXT" and s.kafka_security() == PLAINTEXT
    for name in SECRET_FIELDS:
        assert getattr(s, name) is None, name


def test_environment_with_the_prefix(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env = {
        "ECG_HOME": str(tmp_path), "ECG_DB_MODE": "external", "ECG_TOPIC": "ward3.ecg",
        "ECG_DLQ_TOPIC": "ward3.dlq", "ECG_PARTITIONS": "12", "ECG_RAW_TRIGGER_S": "0.5",
        "ECG_HR_TRIGGER_S": "5", "ECG_MAX_OFFSETS_PER_TRIGGER": "1000", "ECG_RETENTION_DAYS": "7",
        "ECG_KAFKA_FORMAT": "kafka", "ECG_KAFKA_BOOTSTRAP": "b-1.msk:9096",
        "ECG_SPARK_MASTER": "yarn", "ECG_CHECKPOINT_DIR": "s3://bucket/ck",
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    s = Settings()
    assert s.home == tmp_path and s.db_mode == "external"
    assert (s.topic, s.dlq_topic, s.partitions) == ("ward3.ecg", "ward3.dlq", 12)
    assert (s.raw_trigger_s, s.hr_trigger_s, s.max_offsets_per_trigger) == (0.5, 5.0, 1000)
    assert (s.retention_days, s.kafka_format, s.spark_master) == (7, "kafka", "yarn")
    assert s.kafka_bootstrap == "b-1.msk:9096" and s.checkpoint_dir == "s3://bucket/ck"


def test_names_without_the_prefix_are_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOPIC", "not-ours")
    monkeypatch.setenv("PARTITIONS", "abc")
    monkeypatch.setenv("ECG_SOMETHING_ELSE", "whatever")  # unknown ECG_ names are ignored too
    s = Settings()
    assert s.topic == "ecg.waveform" and s.partitions == 4


def test_settings_are_frozen() -> None:
    s = Settings()
    with pytest.raises(ValidationError):
        s.topic = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    "name,value",
    [("ECG_PARTITIONS", "0"), ("ECG_PARTITIONS", "abc"), ("ECG_HR_TRIGGER_S", "4.9"),
     ("ECG_RAW_TRIGGER_S", "0"), ("ECG_RETENTION_DAYS", "0"), ("ECG_MAX_OFFSETS_PER_TRIGGER", "0"),
     ("ECG_DB_MODE", "mysql"), ("ECG_KAFKA_FORMAT", "kinesis"),
     ("ECG_KAFKA_SECURITY_PROTOCOL", "TLS"), ("ECG_KAFKA_SASL_MECHANISM", "MD5")],
)
def test_bad_values_are_refused_and_named(name: str, value: str,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as info:
        Settings()
    lines = describe_errors(info.value)
    assert len(lines) == 1
    assert lines[0].startswith(f"{name}: ") and lines[0].endswith(f"(got {value!r})")


def test_secrets_are_secretstr_and_never_printed(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in SECRET_FIELDS:
        monkeypatch.setenv(f"ECG_{name.upper()}", f"{SECRET}-{name}")
    s = Settings()
    for name in SECRET_FIELDS:
        value = getattr(s, name)
        assert isinstance(value, SecretStr), name
        assert value.get_secret_value() == f"{SECRET}-{name}"
    for shown in (repr(s), str(s), s.model_dump_json(), repr(s.model_dump())):
        assert SECRET not in shown


def test_kafka_security_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for k, v in {"ECG_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "ECG_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
                 "ECG_KAFKA_SASL_USERNAME": "ecg", "ECG_KAFKA_SASL_PASSWORD": SECRET,
                 "ECG_KAFKA_SSL_CAFILE": "/etc/ssl/ca.pem"}.items():
        monkeypatch.setenv(k, v)
    sec = Settings().kafka_security()
    assert sec == KafkaSecurity("SASL_SSL", "SCRAM-SHA-512", "ecg", SECRET, "/etc/ssl/ca.pem")
    assert SECRET not in repr(sec)


def test_describe_errors_never_echoes_a_secret() -> None:
    """A secret's bad value is not shown (the variable and the reason are); others' are."""
    with pytest.raises(ValidationError) as info:
        Settings(db_writer_password=12345678, kafka_sasl_password=87654321, partitions="x")
    lines = describe_errors(info.value)
    assert sorted(lines) == [
        "ECG_DB_WRITER_PASSWORD: Input should be a valid string",
        "ECG_KAFKA_SASL_PASSWORD: Input should be a valid string",
        "ECG_PARTITIONS: Input should be a valid integer, unable to parse string as an integer "
        "(got 'x')",
    ]


# --- checkpoint locations --------------------------------------------------------------------

@pytest.mark.parametrize(
    "base,expected",
    [
        ("s3://bucket/ecg/checkpoints", "s3://bucket/ecg/checkpoints/raw_writer"),
        ("hdfs://namenode:8020/ck/", "hdfs://namenode:8020/ck/raw_writer"),
        ("hdfs:/ecgdash/checkpoints", "hdfs:/ecgdash/checkpoints/raw_writer"),
        ("file:///var/lib/ecg", "file:///var/lib/ecg/raw_writer"),
    ],
)
def test_uri_checkpoints_keep_their_scheme(base: str, expected: str) -> None:
    assert Settings(checkpoint_dir=base).checkpoint("raw_writer") == expected


def test_local_checkpoints_are_paths(tmp_path: Path) -> None:
    assert Settings(checkpoint_dir=str(tmp_path)).checkpoint("hr_job") == tmp_path / "hr_job"
    assert Settings(home=tmp_path).checkpoint("hr_job") == tmp_path / "checkpoints" / "hr_job"
