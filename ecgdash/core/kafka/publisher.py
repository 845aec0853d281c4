"""Publish messages to one topic and fail loudly: a lost delivery is an error, never a log line."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ecgdash.core.errors import DeliveryError
from ecgdash.core.kafka.clients import producer
from ecgdash.core.kafka.security import PLAINTEXT, KafkaSecurity
from kafka.errors import KafkaError

Headers = Sequence[tuple[str, bytes]]


class Publisher:
    """A producer for one topic; ``flush()`` raises :class:`DeliveryError` on any failed send."""

    def __init__(self, bootstrap: str, topic: str, security: KafkaSecurity = PLAINTEXT,
                 **overrides: Any) -> None:
        self.topic = topic
        self._producer = producer(bootstrap, security, **overrides)
        self._failures: list[str] = []
        self.sent = 0

    def send(self, key: bytes | None, value: bytes | None, headers: Headers | None = None) -> None:
        if self._failures:
            raise DeliveryError(f"delivery to {self.topic} failed: {self._failures[0]}")
        future = self._producer.send(self.topic, key=key, value=value,
                                     headers=list(headers) if headers else None)
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
