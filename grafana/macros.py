"""Expand a panel's SQL the way Grafana 11 does before it reaches PostgreSQL.

Two stages, as in Grafana: the frontend's template service replaces variables (dashboard
variables, ``$__interval``, ``$__interval_ms``, ``$__range*``), then the PostgreSQL datasource
(backend ``sqleng``) replaces the ``$__macro(args)`` calls. Tests and the benchmark use this to run
exactly the SQL Grafana would send; nothing here runs inside Grafana.

Quoting of variable values follows the SQL datasources' ``interpolateVariable``: a value of a
multi-value or include-All variable is quoted as a literal (``'a','b'``); a single-value variable's
value has its quotes doubled but is not wrapped (write ``'$patient'`` in SQL).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

# @grafana/data rangeUtil.roundInterval: (exclusive upper bound of the raw interval, result), ms.
# tests/grafana/test_intervals.py checks this port against the npm package itself.
_ROUND_MS: tuple[tuple[int, int], ...] = (
    (10, 1), (15, 10), (35, 20), (75, 50), (150, 100), (350, 200), (750, 500), (1_500, 1_000),
    (3_500, 2_000), (7_500, 5_000), (12_500, 10_000), (17_500, 15_000), (25_000, 20_000),
    (45_000, 30_000), (90_000, 60_000), (210_000, 120_000), (450_000, 300_000),
    (750_000, 600_000), (1_050_000, 900_000), (1_500_000, 1_200_000), (2_700_000, 1_800_000),
    (5_400_000, 3_600_000), (9_000_000, 7_200_000), (16_200_000, 10_800_000),
    (32_400_000, 21_600_000), (86_400_000, 43_200_000), (604_800_000, 86_400_000),
    (1_814_400_000, 604_800_000), (3_628_800_000, 2_592_000_000),
)  # fmt: skip
# the SQL datasources' minimum interval when jsonData.timeInterval is unset (SqlDatasource.ts:
# `this.interval = settingsData.timeInterval || '1m'`): the floor of $__interval for every panel
# that sets no `interval` of its own
SQL_DATASOURCE_DEFAULT_INTERVAL = "1m"
_YEAR_MS = 31_536_000_000
_UNITS = (("y", 31_536_000_000), ("w", 604_800_000), ("d", 86_400_000), ("h", 3_600_000),
          ("m", 60_000), ("s", 1_000))  # fmt: skip
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)$")
# frontend variable syntax: $name, [[name]] / [[name:fmt]], ${name} / ${name:fmt}
_VARIABLE = re.compile(r"\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?::([^}]+))?\}")
# backend macro syntax (sqleng): arguments cannot contain ')'
_MACRO = re.compile(r"\$([_a-zA-Z0-9]+)\(([^)]*)\)")


class MacroError(ValueError):
    """A query uses a macro or variable wrongly (Grafana would answer with an error)."""


def round_interval_ms(ms: float) -> int:
    """Grafana's rounding of a raw interval (range / resolution) to a "nice" one, in ms."""
    for bound, result in _ROUND_MS:
        if ms < bound:
            return result
    return _YEAR_MS


def parse_duration_ms(text: str) -> int:
    """'10s', '5m', '1h', '500ms' -> milliseconds (Grafana's interval syntax)."""
    m = _DURATION.match(text.strip().strip("'\""))
    if not m:
        raise MacroError(f"bad interval {text!r}")
    value, unit = float(m.group(1)), m.group(2)
    scale = 1 if unit == "ms" else dict(_UNITS)[unit]
    return int(value * scale)


def format_interval(ms: int) -> str:
    """Milliseconds -> Grafana's interval text (rangeUtil.secondsToHms: the largest whole unit
    only, so 90 s is '1m' and 1.5 s is '1s')."""
    s = ms / 1000
    parts = (("y", s // 31_536_000), ("d", s % 31_536_000 // 86_400),
             ("h", s % 31_536_000 % 86_400 // 3_600), ("m", s % 31_536_000 % 86_400 % 3_600 // 60),
             ("s", s % 31_536_000 % 86_400 % 3_600 % 60 // 1), ("ms", s * 1000 // 1))
    for unit, n in parts:
        if n:
            return f"{int(n)}{unit}"
    return "less than a millisecond"


def _rfc3339(t: datetime) -> str:
    """Go's time.RFC3339Nano in UTC: fractional seconds only when non-zero, trailing zeros cut."""
    t = t.astimezone(UTC)
    base = t.strftime("%Y-%m-%dT%H:%M:%S")
    if t.microsecond:
        base += "." + f"{t.microsecond:06d}".rstrip("0")
    return base + "Z"


@dataclass(frozen=True)
class Variable:
    """A dashboard variable's current value(s) and the flags that decide its quoting."""

    values: tuple[str, ...]
    multi: bool = False
    include_all: bool = False


@dataclass(frozen=True)
class QueryContext:
    """What Grafana knows when it runs a query: range, resolution, variables, datasource flag.

    ``max_data_points`` is the panel's resolution; ``min_interval_ms`` the panel's or the
    datasource's minimum interval; ``timescaledb`` the datasource's ``jsonData.timescaledb``.
    """

    time_from: datetime
    time_to: datetime
    max_data_points: int = 1000
    min_interval_ms: int = 60_000  # Grafana's default for a SQL datasource without timeInterval
    variables: dict[str, Variable] = field(default_factory=dict)
    timescaledb: bool = False

    @property
    def interval_ms(self) -> int:
        """``$__interval_ms``: (to - from) / maxDataPoints, rounded, not below the minimum."""
        raw = (self.time_to - self.time_from) / timedelta(milliseconds=1) / self.max_data_points
        return max(round_interval_ms(raw), self.min_interval_ms)

    def panel(self, time_from_override: str | None) -> QueryContext:
        """The context of a panel with a relative-time override ('10s': the last 10 s)."""
        if not time_from_override:
            return self
        span = timedelta(milliseconds=parse_duration_ms(time_from_override))
        return QueryContext(self.time_to - span, self.time_to, self.max_data_points,
                            self.min_interval_ms, self.variables, self.timescaledb)

    @classmethod
    def for_panel(cls, panel: dict, time_from: datetime, time_to: datetime,
                  variables: dict[str, Variable] | None = None, timescaledb: bool = False,
                  datasource_interval: str = SQL_DATASOURCE_DEFAULT_INTERVAL) -> QueryContext:
        """The context Grafana's query runner gives a panel of the dashboard JSON: its
        maxDataPoints, its `interval` (else the datasource's) as the floor of $__interval, and
        its relative time override."""
        floor = parse_duration_ms(panel.get("interval") or datasource_interval)
        base = cls(time_from, time_to, panel["maxDataPoints"], floor, variables or {}, timescaledb)
        return base.panel(panel.get("timeFrom"))

    def with_points(self, max_data_points: int) -> QueryContext:
        return QueryContext(self.time_from, self.time_to, max_data_points, self.min_interval_ms,
                            self.variables, self.timescaledb)


def _quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _format_variable(var: Variable, fmt: str | None) -> str:
    if fmt in ("csv", "raw"):
        return ",".join(var.values)
    if fmt == "singlequote":
        return ",".join("'" + v.replace("'", "\\'") + "'" for v in var.values)
    if fmt == "doublequote":
        return ",".join('"' + v.replace('"', '\\"') + '"' for v in var.values)
    if fmt == "sqlstring":
        return ",".join(_quote_literal(v) for v in var.values)
    if fmt is not None:
        raise MacroError(f"variable format {fmt!r} is not supported by this expander")
    # the SQL datasources' interpolateVariable
    if len(var.values) == 1 and not (var.multi or var.include_all):
        return var.values[0].replace("'", "''")
    return ",".join(_quote_literal(v) for v in var.values)


def interpolate_variables(sql: str, ctx: QueryContext) -> str:
    """Stage 1 (frontend): dashboard variables and the global interval/range variables."""
    range_ms = int((ctx.time_to - ctx.time_from) / timedelta(milliseconds=1))
    builtin = {
        "__interval": format_interval(ctx.interval_ms),
        "__interval_ms": str(ctx.interval_ms),
        "__range": format_interval(range_ms),
        "__range_ms": str(range_ms),
        "__range_s": str(range_ms // 1000),
    }

    def sub(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(2) or m.group(4)
        fmt = m.group(3) or m.group(5)
        if name in builtin:
            return builtin[name]
        if name in ctx.variables:
            return _format_variable(ctx.variables[name], fmt)
        return m.group(0)  # not a variable: a backend macro, or text Grafana leaves alone

    return _VARIABLE.sub(sub, sql)


def _time_group(args: list[str], ctx: QueryContext, alias: bool, epoch: bool = False) -> str:
    if len(args) < 2:
        raise MacroError(f"$__timeGroup needs (column, interval[, fill]), got {args}")
    col, interval = args[0], args[1].strip("'\" ")
    ms = ctx.interval_ms if interval in ("$__interval", "auto") else parse_duration_ms(interval)
    seconds = ms / 1000
    s = f"{seconds:g}"
    if epoch:
        expr = f"floor(({col})/{s})*{s}"
    elif ctx.timescaledb:
        expr = f"time_bucket('{s}s',{col})"
    else:
        expr = f"floor(extract(epoch from {col})/{s})*{s}"
    return expr + (' AS "time"' if alias else "")


def expand_macros(sql: str, ctx: QueryContext) -> str:
    """Stage 2 (backend sqleng for PostgreSQL): ``$__timeFilter(col)`` and friends."""
    frm, to = _rfc3339(ctx.time_from), _rfc3339(ctx.time_to)
    efrom, eto = int(ctx.time_from.timestamp()), int(ctx.time_to.timestamp())

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        args = [a.strip() for a in m.group(2).split(",")] if m.group(2).strip() else []
        if name == "__time":
            return f'{args[0]} AS "time"'
        if name == "__timeEpoch":
            return f'extract(epoch from {args[0]}) as "time"'
        if name == "__timeFilter":
            return f"{args[0]} BETWEEN '{frm}' AND '{to}'"
        if name == "__timeFrom":
            return f"'{frm}'"
        if name == "__timeTo":
            return f"'{to}'"
        if name == "__timeGroup":
            return _time_group(args, ctx, alias=False)
        if name == "__timeGroupAlias":
            return _time_group(args, ctx, alias=True)
        if name == "__unixEpochFilter":
            return f"{args[0]} >= {efrom} AND {args[0]} <= {eto}"
        if name == "__unixEpochFrom":
            return str(efrom)
        if name == "__unixEpochTo":
            return str(eto)
        if name == "__unixEpochNanoFilter":
            nf, nt = efrom * 10**9, eto * 10**9
            return f"({args[0]} >= {nf} AND {args[0]} <= {nt})"
        if name == "__unixEpochGroup":
            return _time_group(args, ctx, alias=False, epoch=True)
        if name == "__unixEpochGroupAlias":
            return _time_group(args, ctx, alias=True, epoch=True)
        if name.startswith("__"):
            raise MacroError(f"unknown macro ${name}")
        return m.group(0)

    return _MACRO.sub(sub, sql)


def expand(sql: str, ctx: QueryContext) -> str:
    """Both stages: the SQL text PostgreSQL receives from Grafana."""
    return expand_macros(interpolate_variables(sql, ctx), ctx)
