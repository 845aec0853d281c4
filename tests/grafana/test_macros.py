"""The macro expander against Grafana's documented expansions, and $__timeGroup run for real."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ecgdash.grafana.macros import (
    MacroError,
    QueryContext,
    Variable,
    expand,
    format_interval,
    round_interval_ms,
)
from tests.helpers.grafana_data import T0

FROM = datetime(2017, 4, 21, 5, 1, 17, tzinfo=UTC)
TO = datetime(2017, 4, 21, 5, 6, 17, tzinfo=UTC)


def test_time_macros_as_documented() -> None:
    ctx = QueryContext(FROM, TO)
    assert expand("$__timeFilter(time)", ctx) == (
        "time BETWEEN '2017-04-21T05:01:17Z' AND '2017-04-21T05:06:17Z'")
    assert expand("$__timeFrom() $__timeTo()", ctx) == (
        "'2017-04-21T05:01:17Z' '2017-04-21T05:06:17Z'")
    assert expand("$__unixEpochFilter(t)", ctx) == "t >= 1492750877 AND t <= 1492751177"
    assert expand("$__timeGroup(time,'5m')", ctx) == "floor(extract(epoch from time)/300)*300"
    ts = QueryContext(FROM, TO, timescaledb=True)
    assert expand("$__timeGroupAlias(time,'5m')", ts) == "time_bucket('300s',time) AS \"time\""


def test_interval_follows_grafana_rounding() -> None:
    """Spot checks; test_grafana_npm.py compares the whole table with @grafana/data itself."""
    assert round_interval_ms(1400) == 1000 and round_interval_ms(1600) == 2000
    assert round_interval_ms(86_400) == 60_000  # 24 h over 1000 points: 1m
    assert round_interval_ms(10) == 10  # bounds are exclusive, as in rangeUtil.roundInterval
    ctx = QueryContext(FROM, TO, max_data_points=300, min_interval_ms=1)  # 5 min / 300 = 1 s
    assert expand("$__interval $__interval_ms ${__interval_ms}", ctx) == "1s 1000 1000"
    assert format_interval(500) == "500ms" and format_interval(3_600_000) == "1h"
    assert format_interval(90_000) == "1m"  # secondsToHms: the largest whole unit only
    # a SQL datasource without jsonData.timeInterval floors $__interval at 1 m
    assert QueryContext(FROM, TO, max_data_points=300).interval_ms == 60_000


def test_variable_quoting() -> None:
    single = Variable(("o'neil",))
    multi = Variable(("a", "b'c"), multi=True, include_all=True)
    ctx = QueryContext(FROM, TO, variables={"s": single, "m": multi})
    assert expand("'$s'", ctx) == "'o''neil'"
    assert expand("IN ($m)", ctx) == "IN ('a','b''c')"
    assert expand("${m:csv} [[s]]", ctx) == "a,b'c o''neil"
    with pytest.raises(MacroError):
        expand("$__nosuchmacro(x)", ctx)


def test_time_group_runs_in_each_mode(reader, grafana_db) -> None:
    """$__timeGroup as the datasource's timescaledb flag for the mode expands it."""
    ctx = QueryContext(T0, T0 + timedelta(minutes=3), timescaledb=grafana_db.timescaledb)
    sql = ("SELECT $__timeGroupAlias(time, '1m'), count(*) FROM beats "
           "WHERE $__timeFilter(time) GROUP BY 1 ORDER BY 1")
    rows = reader.execute(expand(sql, ctx)).fetchall()
    assert 3 <= len(rows) <= 4 and sum(r[1] for r in rows) > 500
