"""Everything about Kafka clients in one place: security, consumers, producers, topics.

quix-streams keeps its clients in ``quixstreams/kafka/``; so do we. Nothing outside this package
constructs a kafka-python client.
"""

from ecgdash.core.kafka.acls import AclSpec, apply_acls, parse_acls
from ecgdash.core.kafka.clients import admin, consumer, producer
from ecgdash.core.kafka.publisher import Publisher
from ecgdash.core.kafka.security import MECHANISMS, PLAINTEXT, PROTOCOLS, KafkaSecurity
from ecgdash.core.kafka.topics import end_offsets_json, ensure_topics, high_watermarks

__all__ = [
    "AclSpec",
    "apply_acls",
    "parse_acls",
    "MECHANISMS",
    "PLAINTEXT",
    "PROTOCOLS",
    "KafkaSecurity",
    "Publisher",
    "admin",
    "consumer",
    "end_offsets_json",
    "ensure_topics",
    "high_watermarks",
    "producer",
]
