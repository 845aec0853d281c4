"""kafka-python clients with our defaults: every consumer, producer and admin client is made here.

Clients take the :class:`KafkaSecurity` of the deployment (plaintext locally, SASL_SSL on MSK) and
nothing else from the environment. Create them lazily in Spark readers (those are pickled).
"""

from __future__ import annotations

import time
from typing import Any

from ecgdash.core.errors import DeliveryError
from ecgdash.core.kafka.security import PLAINTEXT, KafkaSecurity
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.errors import KafkaError


def consumer(bootstrap: str, security: KafkaSecurity = PLAINTEXT, **extra: Any) -> KafkaConsumer:
    """A consumer that never commits by itself and starts at the earliest offset.

    ``fetch_max_wait_ms`` is 100 ms: Tansu always waits the full time, Kafka returns earlier.
    """
    config: dict[str, Any] = {
        "bootstrap_servers": bootstrap, "enable_auto_commit": False,
        "auto_offset_reset": "earliest", "fetch_max_wait_ms": 100, "request_timeout_ms": 30_000,
    }
    config.update(security.client_kwargs())
    config.update(extra)
    return KafkaConsumer(**config)


def producer(bootstrap: str, security: KafkaSecurity = PLAINTEXT, **overrides: Any) -> KafkaProducer:
    """A producer with acks=all, retries and one request in flight (keeps per-key order)."""
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
    config.update(security.client_kwargs())
    config.update(overrides)
    try:
        return KafkaProducer(**config)
    except KafkaError as exc:
        raise DeliveryError(f"cannot connect to Kafka at {bootstrap}: {exc}") from exc


def admin(bootstrap: str, security: KafkaSecurity = PLAINTEXT, timeout_s: float = 30,
          **extra: Any) -> KafkaAdminClient:
    """An admin client; retries the first connection for up to `timeout_s` (a broker starting)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000,
                                    **security.client_kwargs(), **extra)
        except KafkaError as exc:
            if time.monotonic() > deadline:
                raise DeliveryError(f"Kafka at {bootstrap} not reachable: {exc}") from exc
            time.sleep(0.5)
