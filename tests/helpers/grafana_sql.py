"""Run a panel's or rule's SQL as Grafana would and describe the result."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg

from ecgdash.grafana.macros import QueryContext, expand

TIMESTAMPTZ = 1184
INT8 = 20
NUMERIC = {20, 21, 23, 700, 701, 1700}
TEXT = {25, 1043}


@dataclass
class Result:
    sql: str
    columns: list[str]
    types: list[int]
    rows: list[tuple]

    def numeric_columns(self) -> list[int]:
        return [i for i, t in enumerate(self.types) if t in NUMERIC]

    def text_columns(self) -> list[int]:
        return [i for i, t in enumerate(self.types) if t in TEXT]

    def series_lengths(self) -> dict[tuple, int]:
        """Rows per series: long format, one series per combination of text columns."""
        out: dict[tuple, int] = {}
        for r in self.rows:
            key = tuple(r[i] for i in self.text_columns())
            out[key] = out.get(key, 0) + 1
        return out


def run(conn: psycopg.Connection, sql: str, ctx: QueryContext) -> Result:
    text = expand(sql, ctx)
    cur = conn.execute(text)
    desc = cur.description or []
    return Result(text, [d.name for d in desc], [d.type_code for d in desc], cur.fetchall())


def ctx(time_from: datetime, time_to: datetime, points: int = 1000, **variables) -> QueryContext:
    return QueryContext(time_from, time_to, points, variables=variables)
