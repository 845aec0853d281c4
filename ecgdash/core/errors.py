"""Exceptions of ECGdashboard.

    ECGDashError                      root: catch this to handle any error of ours
     +-- ConfigError                  a setting is missing or inconsistent
     +-- RecordError                  a WFDB record cannot be read (names the record)
     +-- DecodeError                  a Kafka message is malformed (names the reason)
     +-- DeliveryError                a Kafka produce was not acknowledged
     +-- DatabaseError                a database step failed
     |    +-- MigrationError          a migration is missing, changed or failed
     |    +-- ReplayMismatch          a committed batch id came back with other offsets
     +-- DataLossError                offsets still to be read are gone from the topic
     +-- StackError                   a local service did not start or stop
     +-- ExportError                  an export request is invalid (unknown patient, bad range)
"""

from __future__ import annotations


class ECGDashError(Exception):
    """Root of every error raised on purpose by ECGdashboard."""


class ConfigError(ECGDashError):
    """A setting is missing, malformed or inconsistent with another."""


class RecordError(ECGDashError):
    """A WFDB record cannot be read or is inconsistent."""

    def __init__(self, record: str, reason: str) -> None:
        super().__init__(f"record {record}: {reason}")
        self.record = record
        self.reason = reason


class DecodeError(ECGDashError):
    """A Kafka message does not decode; `reason` is stored with the dead letter."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class DeliveryError(ECGDashError):
    """The broker did not acknowledge a produced message."""


class DatabaseError(ECGDashError):
    """A database operation failed."""


class MigrationError(DatabaseError):
    """A schema migration is missing, was changed after it was applied, or failed."""


class StackError(ECGDashError):
    """A local service (broker, database) did not start, answer or stop."""


class ExportError(ECGDashError):
    """An export request names an unknown patient, an empty or inverted range, or a bad format."""


class ReplayMismatch(DatabaseError):
    """A batch id already in the ledger came back with other Kafka offsets: the checkpoint and
    the ledger disagree, so skipping it could lose data and writing it could double it."""


class DataLossError(ECGDashError):
    """Offsets a query still had to read are gone from the topic (retention, a re-created topic,
    a broker restarted without its storage); names the partition and the offsets."""
