"""How clients authenticate to Kafka: plaintext locally, SASL_SSL with SCRAM on Amazon MSK.

One value, :class:`KafkaSecurity`, built from the settings at the CLI edge and handed to every
Kafka client we create: kafka-python producers, consumers and admin clients (``client_kwargs``)
and the Spark sources (``spark_options``, the built-in kafka source's own option names, which the
``ecgkafka`` source reads too, so the same options work for both ``ECG_KAFKA_FORMAT`` values).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ecgdash.core.errors import ConfigError

PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
_LOGIN_MODULE = {
    "PLAIN": "org.apache.kafka.common.security.plain.PlainLoginModule",
    "SCRAM-SHA-256": "org.apache.kafka.common.security.scram.ScramLoginModule",
    "SCRAM-SHA-512": "org.apache.kafka.common.security.scram.ScramLoginModule",
}
_JAAS = re.compile(r'(\w+)\s*=\s*"((?:[^"\\]|\\.)*)"')


@dataclass(frozen=True)
class KafkaSecurity:
    """Security protocol, SASL mechanism and credentials, and an optional CA file (PEM)."""

    protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ssl_cafile: str | None = None

    def __post_init__(self) -> None:
        if self.protocol not in PROTOCOLS:
            raise ConfigError(f"Kafka security protocol {self.protocol!r} is not one of {PROTOCOLS}")
        if self.sasl:
            if self.sasl_mechanism not in MECHANISMS:
                raise ConfigError(
                    f"Kafka protocol {self.protocol} needs a SASL mechanism in {MECHANISMS}, "
                    f"got {self.sasl_mechanism!r} (ECG_KAFKA_SASL_MECHANISM)"
                )
            if not self.username or not self.password:
                raise ConfigError(
                    f"Kafka protocol {self.protocol} needs ECG_KAFKA_SASL_USERNAME and "
                    "ECG_KAFKA_SASL_PASSWORD"
                )

    @property
    def sasl(self) -> bool:
        return self.protocol.startswith("SASL_")

    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for kafka-python clients (empty for plaintext)."""
        out: dict[str, Any] = {}
        if self.protocol == "PLAINTEXT":
            return out
        out["security_protocol"] = self.protocol
        if self.sasl:
            out.update(sasl_mechanism=self.sasl_mechanism, sasl_plain_username=self.username,
                       sasl_plain_password=self.password)  # fmt: skip
        if self.ssl_cafile and self.protocol.endswith("SSL"):
            out["ssl_cafile"] = self.ssl_cafile
        return out

    def spark_options(self) -> dict[str, str]:
        """``kafka.*`` options for a Spark Kafka source (empty for plaintext)."""
        out: dict[str, str] = {}
        if self.protocol == "PLAINTEXT":
            return out
        out["kafka.security.protocol"] = self.protocol
        if self.sasl:
            assert self.sasl_mechanism is not None
            out["kafka.sasl.mechanism"] = self.sasl_mechanism
            out["kafka.sasl.jaas.config"] = (
                f'{_LOGIN_MODULE[self.sasl_mechanism]} required username="{_esc(self.username)}" '
                f'password="{_esc(self.password)}";'
            )
        if self.ssl_cafile and self.protocol.endswith("SSL"):
            out["kafka.ssl.truststore.type"] = "PEM"
            out["kafka.ssl.truststore.location"] = self.ssl_cafile
        return out

    @classmethod
    def from_spark_options(cls, options: dict[str, str]) -> KafkaSecurity:
        """The inverse of :meth:`spark_options` (option keys in any case)."""
        o = {k.lower(): v for k, v in options.items()}
        creds = dict((k, _unesc(v)) for k, v in _JAAS.findall(o.get("kafka.sasl.jaas.config", "")))
        return cls(
            protocol=o.get("kafka.security.protocol", "PLAINTEXT").upper(),
            sasl_mechanism=o.get("kafka.sasl.mechanism"),
            username=creds.get("username"),
            password=creds.get("password"),
            ssl_cafile=o.get("kafka.ssl.truststore.location"),
        )


def _esc(s: str | None) -> str:
    return (s or "").replace("\\", "\\\\").replace('"', '\\"')


def _unesc(s: str) -> str:
    return re.sub(r"\\(.)", r"\1", s)


PLAINTEXT = KafkaSecurity()  # the local stack's broker listens on 127.0.0.1 without TLS
