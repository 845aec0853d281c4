"""Create ecg.waveform and its dead-letter topic when missing (MSK does not auto-create topics)."""

import os

from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import TopicAlreadyExistsError


def main() -> None:
    admin = KafkaAdminClient(
        bootstrap_servers=os.environ["ECG_KAFKA_BOOTSTRAP"].split(","),
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_plain_username=os.environ["ECG_KAFKA_SASL_USERNAME"],
        sasl_plain_password=os.environ["ECG_KAFKA_SASL_PASSWORD"],
    )
    partitions = int(os.environ["ECG_PARTITIONS"])
    replication = int(os.environ["ECG_KAFKA_REPLICATION_FACTOR"])
    for topic in (os.environ["ECG_TOPIC"], os.environ["ECG_DLQ_TOPIC"]):
        try:
            admin.create_topics([NewTopic(topic, partitions, replication)])
            print(f"created topic {topic} ({partitions} partitions, replication {replication})")
        except TopicAlreadyExistsError:
            print(f"topic {topic} exists")
    admin.close()


if __name__ == "__main__":
    main()
