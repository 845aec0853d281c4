"""A PostgreSQL datasource query for grafana-foundation-sdk (which has no SQL query builder).

The SQL itself lives in ``grafana/queries/*.sql``; ``{{name}}`` placeholders there are
build-time constants from :class:`grafana.config.GrafanaConfig` (point budgets, thresholds),
never user input. Grafana's own ``$__macros`` and ``$variables`` are left for Grafana.
"""

from __future__ import annotations

import re
import typing
from importlib import resources
from pathlib import Path
from typing import Literal

from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.models import dashboard

QUERIES_DIR = Path(str(resources.files("ecgdash.grafana") / "queries"))
DATASOURCE_TYPE = "grafana-postgresql-datasource"
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")

Format = Literal["time_series", "table"]


def load_sql(name: str, constants: dict[str, str]) -> str:
    """Read ``queries/<name>.sql`` and fill its ``{{name}}`` build-time constants."""
    text = (QUERIES_DIR / f"{name}.sql").read_text()

    def sub(m: re.Match[str]) -> str:
        key = m.group(1)
        if key not in constants:
            raise KeyError(f"query {name}.sql needs the constant {{{{{key}}}}}")
        return constants[key]

    return _PLACEHOLDER.sub(sub, text).rstrip() + "\n"


class SQLQuery(cogvariants.Dataquery):
    """The JSON model of a raw-SQL query of Grafana's PostgreSQL datasource."""

    def __init__(self, ref_id: str, sql: str, fmt: Format, datasource_uid: str) -> None:
        self.ref_id = ref_id
        self.sql = sql
        self.fmt = fmt
        self.datasource_uid = datasource_uid

    def to_json(self) -> dict[str, object]:
        return {
            "refId": self.ref_id,
            "datasource": {"type": DATASOURCE_TYPE, "uid": self.datasource_uid},
            "editorMode": "code",
            "format": self.fmt,
            "rawQuery": True,
            "rawSql": self.sql,
        }


class SQLQueryBuilder(cogbuilder.Builder[cogvariants.Dataquery]):
    """Builder form, for ``Panel.with_target`` and ``alerting.Query.model``."""

    def __init__(self, query: SQLQuery) -> None:
        self._internal = query

    def build(self) -> cogvariants.Dataquery:
        return self._internal


def datasource_ref(uid: str) -> dashboard.DataSourceRef:
    return dashboard.DataSourceRef(type_val=DATASOURCE_TYPE, uid=uid)


def sql_target(name: str, constants: dict[str, str], fmt: Format, datasource_uid: str,
               ref_id: str = "A") -> SQLQueryBuilder:
    """A panel target running ``queries/<name>.sql``."""
    return SQLQueryBuilder(SQLQuery(ref_id, load_sql(name, constants), fmt, datasource_uid))


__all__: typing.Sequence[str] = ("SQLQuery", "SQLQueryBuilder", "load_sql", "sql_target")
