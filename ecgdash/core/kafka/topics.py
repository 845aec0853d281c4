"""Topics: create them, and read their high watermarks (right on Kafka, MSK and Tansu)."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

from ecgdash.core.errors import DeliveryError
from ecgdash.core.kafka.clients import admin, consumer
from ecgdash.core.kafka.security import PLAINTEXT, KafkaSecurity
from kafka import TopicPartition
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError


def ensure_topics(bootstrap: str, topics: Mapping[str, int], *, replication_factor: int = 1,
                  security: KafkaSecurity = PLAINTEXT, timeout_s: float = 30) -> list[str]:
    """Create each topic (name -> partitions) unless it exists; returns the names created."""
    client = admin(bootstrap, security, timeout_s=timeout_s)
    try:
        existing = set(client.list_topics())
        new = [NewTopic(name, num_partitions=n, replication_factor=replication_factor)
               for name, n in topics.items() if name not in existing]
        if new:
            with contextlib.suppress(TopicAlreadyExistsError):
                client.create_topics(new)
        return [t.name for t in new]
    finally:
        client.close()


def high_watermarks(client: Any, tps: Sequence[TopicPartition], timeout_s: float = 30
                    ) -> dict[TopicPartition, int]:
    """The high watermark of each partition, read from Fetch responses.

    Tansu's ListOffsets(LATEST) returns the last batch's base offset + 1, so ``end_offsets`` is
    only a lower bound there; the high watermark a Fetch response carries is right everywhere.
    """
    lower = client.end_offsets(list(tps))  # exact on Kafka, a lower bound on Tansu
    client.assign(list(tps))
    for tp in tps:
        client.seek(tp, lower[tp])
    out: dict[TopicPartition, int] = {}
    deadline = time.monotonic() + timeout_s
    while len(out) < len(tps):
        client.poll(timeout_ms=200, max_records=1, update_offsets=False)
        for tp in tps:
            hw = client.highwater(tp)
            if hw is not None:
                out[tp] = max(int(hw), int(lower[tp]))
        if time.monotonic() > deadline:
            missing = [tp for tp in tps if tp not in out]
            raise DeliveryError(f"no high watermark from the broker for {missing}")
    return out


def end_offsets_json(bootstrap: str, topic: str, security: KafkaSecurity = PLAINTEXT) -> str:
    """The topic's current end offsets as a Spark ``startingOffsets`` JSON."""
    c = consumer(bootstrap, security)
    try:
        parts = c.partitions_for_topic(topic) or set()
        hw = high_watermarks(c, [TopicPartition(topic, p) for p in sorted(parts)])
    finally:
        c.close()
    return json.dumps({topic: {str(tp.partition): off for tp, off in hw.items()}})
