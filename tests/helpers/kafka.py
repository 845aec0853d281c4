"""Kafka test helpers: put known messages on known partitions of a test topic."""

from __future__ import annotations

from collections.abc import Mapping

from ecgdash.core.kafka import producer


def fill_partitions(broker: str, topic: str, counts: Mapping[int, int], tag: str = "m") -> None:
    """Append `counts[p]` messages to partition `p`; message i of p has key ``p<p>`` and value
    ``<tag>-<p>-<i>`` (i counted from the messages this call sends)."""
    prod = producer(broker)
    try:
        futures = [prod.send(topic, key=f"p{p}".encode(), value=f"{tag}-{p}-{i}".encode(), partition=p)
                   for p, n in counts.items() for i in range(n)]
        prod.flush()
        for f in futures:
            f.get(timeout=30)  # an unacknowledged send fails the test here, not later
    finally:
        prod.close()
