"""Kafka client security: settings -> kafka-python kwargs and Spark source options, and back."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from ecgdash.core.errors import ConfigError
from ecgdash.core.kafka import PLAINTEXT, KafkaSecurity
from ecgdash.settings import Settings

MSK = KafkaSecurity("SASL_SSL", "SCRAM-SHA-512", "ecg", 'p"w\\d', "/etc/ssl/ca.pem")


def test_plaintext_adds_nothing() -> None:
    assert PLAINTEXT.client_kwargs() == {}
    assert PLAINTEXT.spark_options() == {}
    assert KafkaSecurity.from_spark_options({}) == PLAINTEXT


def test_msk_scram_client_kwargs() -> None:
    assert MSK.client_kwargs() == {
        "security_protocol": "SASL_SSL", "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "ecg", "sasl_plain_password": 'p"w\\d', "ssl_cafile": "/etc/ssl/ca.pem",
    }  # fmt: skip


def test_spark_options_are_the_kafka_sources_and_round_trip() -> None:
    opts = MSK.spark_options()
    assert opts["kafka.security.protocol"] == "SASL_SSL"
    assert opts["kafka.sasl.mechanism"] == "SCRAM-SHA-512"
    assert opts["kafka.sasl.jaas.config"].startswith(
        "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"ecg\"")
    assert opts["kafka.sasl.jaas.config"].endswith(";")
    # Spark hands options to a Python source with lower-cased keys
    assert KafkaSecurity.from_spark_options({k.lower(): v for k, v in opts.items()}) == MSK


def test_incomplete_settings_are_named() -> None:
    with pytest.raises(ConfigError, match="ECG_KAFKA_SASL_MECHANISM"):
        KafkaSecurity("SASL_SSL", None, "u", "p")
    with pytest.raises(ConfigError, match="ECG_KAFKA_SASL_PASSWORD"):
        Settings(kafka_security_protocol="SASL_SSL", kafka_sasl_mechanism="SCRAM-SHA-512",
                 kafka_sasl_username="u").kafka_security()
    with pytest.raises(ConfigError, match="not one of"):
        KafkaSecurity("TLS")


def test_password_stays_out_of_repr() -> None:
    s = Settings(kafka_security_protocol="SASL_SSL", kafka_sasl_mechanism="SCRAM-SHA-512",
                 kafka_sasl_username="u", kafka_sasl_password="hunter2")
    assert "hunter2" not in repr(s) and "hunter2" not in repr(s.kafka_security())
    assert s.kafka_security().client_kwargs()["sasl_plain_password"] == "hunter2"


@pytest.mark.integration
def test_ingest_applies_the_security_settings(broker: str, topic: str, tmp_path) -> None:
    """The same ingest that works in plaintext fails, naming the broker, when told to log in
    with SASL/SCRAM to the plaintext broker: the settings reach the producer (they are not
    ignored). (TLS is not tried: kafka-python's TLS handshake with a plaintext port never times
    out, and the local broker cannot serve TLS.)"""
    from tests.helpers import MITDB

    base = {**os.environ, "ECG_KAFKA_BOOTSTRAP": broker, "ECG_TOPIC": topic, "ECG_HOME": str(tmp_path)}
    argv = [sys.executable, "-m", "ecgdash.cli", "ingest", str(MITDB), "--records", "101",
            "--minutes", "0.05", "--speed", "max", "--quiet"]  # fmt: skip
    ok = subprocess.run(argv, env=base, capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    t0 = time.monotonic()
    sasl = {"ECG_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT", "ECG_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
            "ECG_KAFKA_SASL_USERNAME": "ecg", "ECG_KAFKA_SASL_PASSWORD": "not-a-real-password"}
    bad = subprocess.run(argv, env={**base, **sasl}, capture_output=True, text=True, timeout=300)
    assert bad.returncode != 0
    assert broker in bad.stderr and "not-a-real-password" not in bad.stderr, bad.stderr[-2000:]
    assert time.monotonic() - t0 < 240
