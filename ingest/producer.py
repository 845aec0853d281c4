"""Publish encoded messages to Kafka, keyed by patient; a failed delivery raises."""

from __future__ import annotations

from typing import Any

from kafka import KafkaProducer
from kafka.errors import KafkaError

from ecgdash.errors import DeliveryError


class Publisher:
    """kafka-python producer with acks=all and retries; `flush()` raises on any failed send."""

    def __init__(self, bootstrap: str, topic: str, **overrides: Any) -> None:
        self.topic = topic
        config: dict[str, Any] = {
            "bootstrap_servers": bootstrap,
            "acks": "all",
            "retries": 10,
            "linger_ms": 5,
            # one request in flight per broker keeps a patient's messages in order across retries
            "max_in_flight_requests_per_connection": 1,
            "batch_size": 256 * 1024,
            "request_timeout_ms": 30_000,
        }
        config.update(overrides)
        try:
            self._producer = KafkaProducer(**config)
        except KafkaError as exc:
            raise DeliveryError(f"cannot connect to Kafka at {bootstrap}: {exc}") from exc
        self._failures: list[str] = []
        self.sent = 0

    def send(self, key: bytes, value: bytes) -> None:
        if self._failures:
            raise DeliveryError(f"delivery to {self.topic} failed: {self._failures[0]}")
        future = self._producer.send(self.topic, key=key, value=value)
        future.add_errback(lambda exc, k=key: self._failures.append(f"key {k!r}: {exc!r}"))
        self.sent += 1

    def flush(self, timeout_s: float = 60) -> None:
        try:
            self._producer.flush(timeout=timeout_s)
        except KafkaError as exc:
            raise DeliveryError(f"flush to {self.topic} failed: {exc}") from exc
        if self._failures:
            raise DeliveryError(
                f"{len(self._failures)} deliveries to {self.topic} failed, first: "
                f"{self._failures[0]}"
            )

    def close(self) -> None:
        self._producer.close(timeout=10)
