"""The signal clock: epoch microseconds, exact conversions, ISO 8601 parsing.

Sample time is the stream's start + index / fs, never the processing time. Times travel as
integer epoch microseconds (exact) and become aware UTC datetimes only at the database edge.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from ecgdash.core.errors import ExportError

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# the signal clock's range, [CLOCK_MIN, CLOCK_MAX): the codec refuses times outside it
CLOCK_MIN = datetime(1900, 1, 1, tzinfo=UTC)
CLOCK_MAX = datetime(2200, 1, 1, tzinfo=UTC)
US = timedelta(microseconds=1)


def us_to_datetime(us: int) -> datetime:
    """Epoch microseconds -> aware UTC datetime, exactly (no float rounding)."""
    return EPOCH + timedelta(microseconds=us)


def datetime_to_us(t: datetime) -> int:
    """Aware datetime -> epoch microseconds, exactly; a naive datetime is taken as UTC."""
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return (t - EPOCH) // US


def check_range(start: datetime, end: datetime) -> None:
    """A requested time range ``[start, end)``: both aware, end after start, both on the signal
    clock (1900-2200; nothing is stored outside it, and a time near year 1 overflowed the
    reads' margins with a bare OverflowError). ExportError naming what is wrong."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ExportError("start and end must carry a time zone (e.g. 2024-03-01T08:00:00+00:00)")
    for what, t in (("start", start), ("end", end)):
        if not CLOCK_MIN <= t <= CLOCK_MAX:
            raise ExportError(f"{what} {t.isoformat()} is outside the signal clock's range 1900-2200")
    if end <= start:
        raise ExportError(f"empty or inverted range: end {end.isoformat()} is not after start "
                          f"{start.isoformat()}")  # fmt: skip


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
