"""The signal clock: epoch microseconds <-> aware UTC datetimes, exactly; ISO 8601 parsing."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ecgdash.core.clock import EPOCH, US, datetime_to_us, now_us, parse_time, us_to_datetime

CET = timezone(timedelta(hours=1))


def test_epoch_and_unit() -> None:
    assert datetime(1970, 1, 1, tzinfo=UTC) == EPOCH and EPOCH.utcoffset() == timedelta(0)
    assert timedelta(seconds=1) / US == 1_000_000


def test_us_to_datetime_is_exact() -> None:
    assert us_to_datetime(0) == datetime(1970, 1, 1, tzinfo=UTC)
    # 2023-11-14T22:13:20.123457Z: a float of seconds would round the last microsecond
    t = us_to_datetime(1_700_000_000_123_457)
    assert t == datetime(2023, 11, 14, 22, 13, 20, 123457, tzinfo=UTC)
    assert t.tzinfo is UTC
    assert us_to_datetime(-1) == datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)


def test_datetime_to_us_is_exact_and_an_int() -> None:
    us = datetime_to_us(datetime(2023, 11, 14, 22, 13, 20, 123457, tzinfo=UTC))
    assert us == 1_700_000_000_123_457 and type(us) is int
    assert datetime_to_us(datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=UTC)) == 1


def test_aware_times_keep_their_instant_and_naive_times_are_utc() -> None:
    cet = datetime(2024, 3, 1, 9, 0, tzinfo=CET)  # 08:00Z
    assert datetime_to_us(cet) == datetime_to_us(datetime(2024, 3, 1, 8, 0, tzinfo=UTC))
    naive = datetime(2024, 3, 1, 8, 0)
    assert datetime_to_us(naive) == datetime_to_us(naive.replace(tzinfo=UTC))
    assert datetime_to_us(datetime(2024, 3, 1, 8, 0)) == 1_709_280_000_000_000


@given(st.integers(min_value=-(10**16), max_value=10**17))
def test_round_trip(us: int) -> None:
    assert datetime_to_us(us_to_datetime(us)) == us


def test_now_us_is_wall_clock_microseconds() -> None:
    before = time.time_ns() // 1000
    now = now_us()
    after = time.time_ns() // 1000
    assert type(now) is int and before <= now <= after


@pytest.mark.parametrize(
    "text,expected",
    [
        ("2024-03-01T08:00:00Z", datetime(2024, 3, 1, 8, 0, tzinfo=UTC)),
        ("2024-03-01T09:00:00+01:00", datetime(2024, 3, 1, 8, 0, tzinfo=UTC)),
        ("2024-03-01T08:00:00", datetime(2024, 3, 1, 8, 0, tzinfo=UTC)),
        ("2024-03-01", datetime(2024, 3, 1, tzinfo=UTC)),
        ("2024-03-01T08:00:00.123456", datetime(2024, 3, 1, 8, 0, 0, 123456, tzinfo=UTC)),
    ],
)
def test_parse_time(text: str, expected: datetime) -> None:
    t = parse_time(text)
    assert t == expected and t.tzinfo is not None


def test_parse_time_keeps_the_given_zone() -> None:
    t = parse_time("2024-03-01T09:00:00+01:00")
    assert t.utcoffset() == timedelta(hours=1)
    assert parse_time("2024-03-01T08:00:00").tzinfo is UTC


@pytest.mark.parametrize("text", ["yesterday", "", "2024-13-01", "01/03/2024"])
def test_parse_time_names_the_text(text: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_time(text)
    assert str(info.value) == f"not an ISO 8601 time: {text!r}"
    assert isinstance(info.value.__cause__, ValueError)
