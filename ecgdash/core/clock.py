"""The signal clock: epoch microseconds, exact conversions, ISO 8601 parsing.

Sample time is the stream's start + index / fs, never the processing time. Times travel as
integer epoch microseconds (exact) and become aware UTC datetimes only at the database edge.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
US = timedelta(microseconds=1)


def us_to_datetime(us: int) -> datetime:
    """Epoch microseconds -> aware UTC datetime, exactly (no float rounding)."""
    return EPOCH + timedelta(microseconds=us)


def datetime_to_us(t: datetime) -> int:
    """Aware datetime -> epoch microseconds, exactly; a naive datetime is taken as UTC."""
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return (t - EPOCH) // US


def now_us() -> int:
    """Wall-clock now in epoch microseconds."""
    return time.time_ns() // 1000


def parse_time(text: str) -> datetime:
    """ISO 8601 time; a time without zone is taken as UTC. ValueError names the text."""
    try:
        t = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"not an ISO 8601 time: {text!r}") from exc
    return t if t.tzinfo else t.replace(tzinfo=UTC)
