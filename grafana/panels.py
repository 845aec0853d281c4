"""Small typed panel builders shared by the dashboards: every panel runs one query file."""

from __future__ import annotations

from grafana_foundation_sdk.builders import barchart, stat, table, timeseries
from grafana_foundation_sdk.builders import common as cb
from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as model

from ecgdash.grafana.config import GrafanaConfig
from ecgdash.grafana.sqlquery import Format, datasource_ref, sql_target


def _constants(cfg: GrafanaConfig, points: int) -> dict[str, str]:
    return {**cfg.placeholders(), "points": str(points)}


def thresholds(*steps: tuple[float | None, str]) -> dash.ThresholdsConfig:
    return (dash.ThresholdsConfig().mode(model.ThresholdsMode.ABSOLUTE)
            .steps([model.Threshold(value=v, color=c) for v, c in steps]))


def grid(x: int, y: int, w: int, h: int) -> model.GridPos:
    return model.GridPos(h=h, w=w, x=x, y=y)


def series(cfg: GrafanaConfig, title: str, query: str, pos: model.GridPos, *, points: int,
           unit: str = "", time_from: str | None = None, legend: bool = True,
           thresholds_: dash.ThresholdsConfig | None = None) -> timeseries.Panel:
    """A time series panel whose query returns at most `points` rows per series."""
    p = (timeseries.Panel().title(title).grid_pos(pos)
         .datasource(datasource_ref(cfg.datasource_uid))
         .with_target(sql_target(query, _constants(cfg, points), "time_series", cfg.datasource_uid))
         .max_data_points(points).unit(unit).line_width(1).fill_opacity(0)
         .show_points(common.VisibilityMode.NEVER).span_nulls(False)
         .legend(cb.VizLegendOptions().show_legend(legend)
                 .display_mode(common.LegendDisplayMode.LIST)
                 .placement(common.LegendPlacement.BOTTOM)))  # fmt: skip
    if time_from:
        p = p.time_from(time_from).hide_time_override(True)
    if thresholds_ is not None:
        p = p.thresholds(thresholds_)
    return p


def single_stat(cfg: GrafanaConfig, title: str, query: str, pos: model.GridPos, *, unit: str = "",
                thresholds_: dash.ThresholdsConfig | None = None,
                mappings: list[model.ValueMap] | None = None,
                fmt: Format = "table") -> stat.Panel:
    """A stat panel: one big number per row of its (table) query."""
    p = (stat.Panel().title(title).grid_pos(pos).datasource(datasource_ref(cfg.datasource_uid))
         .with_target(sql_target(query, _constants(cfg, 100), fmt, cfg.datasource_uid))
         .max_data_points(100).unit(unit)
         .reduce_options(cb.ReduceDataOptions().values(True).calcs(["lastNotNull"]))
         .color_mode(common.BigValueColorMode.BACKGROUND).graph_mode(common.BigValueGraphMode.NONE)
         .text_mode(common.BigValueTextMode.VALUE))  # fmt: skip
    if thresholds_ is not None:
        p = p.thresholds(thresholds_)
    if mappings:
        p = p.mappings(mappings)
    return p


def bars(cfg: GrafanaConfig, title: str, query: str, pos: model.GridPos, x_field: str) -> barchart.Panel:
    """A bar chart of a (category, count) table, e.g. a histogram binned in SQL."""
    return (barchart.Panel().title(title).grid_pos(pos)
            .datasource(datasource_ref(cfg.datasource_uid))
            .with_target(sql_target(query, _constants(cfg, 100), "table", cfg.datasource_uid))
            .max_data_points(100).x_field(x_field).show_value(common.VisibilityMode.NEVER))


def grid_table(cfg: GrafanaConfig, title: str, query: str, pos: model.GridPos) -> table.Panel:
    return (table.Panel().title(title).grid_pos(pos)
            .datasource(datasource_ref(cfg.datasource_uid))
            .with_target(sql_target(query, _constants(cfg, 500), "table", cfg.datasource_uid))
            .max_data_points(500))


def patient_variable(cfg: GrafanaConfig, *, multi: bool) -> dash.QueryVariable:
    """The `patient` variable, listing registered patients from the database."""
    v = (dash.QueryVariable("patient").label("Patient")
         .datasource(datasource_ref(cfg.datasource_uid))
         .query("SELECT patient_id FROM patients ORDER BY patient_id")
         .refresh(model.VariableRefresh.ON_DASHBOARD_LOAD)
         .sort(model.VariableSort.NATURAL_ASC))  # fmt: skip
    if multi:
        v = v.multi(True).include_all(True)
    return v
