"""Small typed panel builders shared by the dashboards: every panel runs one query file.

Every panel gets an explicit id (stable across builds: links, alerts and the API address panels
by id) and every time series an explicit `interval`, the floor of Grafana's ``$__interval``:
without it a SQL datasource's floor is ``1m`` (``jsonData.timeInterval || '1m'``), which turns a
10 s ECG strip into one 60 s bucket. A panel's interval is the finest resolution of its data.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import barchart, stat, table, timeseries
from grafana_foundation_sdk.builders import common as cb
from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as model

from ecgdash.grafana.config import GrafanaConfig
from ecgdash.grafana.sqlquery import Format, SQLQuery, SQLQueryBuilder, datasource_ref, load_sql, sql_target


def constants(cfg: GrafanaConfig, points: int, **extra: object) -> dict[str, str]:
    return {**cfg.placeholders(), "points": str(points), **{k: str(v) for k, v in extra.items()}}


def thresholds(*steps: tuple[float | None, str]) -> dash.ThresholdsConfig:
    return (dash.ThresholdsConfig().mode(model.ThresholdsMode.ABSOLUTE)
            .steps([model.Threshold(value=v, color=c) for v, c in steps]))


def grid(x: int, y: int, w: int, h: int) -> model.GridPos:
    return model.GridPos(h=h, w=w, x=x, y=y)


def series(cfg: GrafanaConfig, panel_id: int, title: str, query: str, pos: model.GridPos, *,
           points: int, interval: str, unit: str = "", time_from: str | None = None,
           legend: bool = True, thresholds_: dash.ThresholdsConfig | None = None,
           y_range: tuple[float, float] | None = None, no_value: str | None = None,
           extra: dict[str, object] | None = None) -> timeseries.Panel:
    """A time series panel whose query returns at most `points` rows per series.

    `interval`: the panel's minimum interval (its data's finest resolution). `thresholds_` are
    drawn as dashed lines. `y_range`: a fixed axis (no auto-scaling between refreshes).
    """
    p = (timeseries.Panel().id(panel_id).title(title).grid_pos(pos)
         .datasource(datasource_ref(cfg.datasource_uid))
         .with_target(sql_target(query, constants(cfg, points, **(extra or {})), "time_series",
                                 cfg.datasource_uid))
         .max_data_points(points).interval(interval).unit(unit).line_width(1).fill_opacity(0)
         .show_points(common.VisibilityMode.NEVER).span_nulls(False)
         .legend(cb.VizLegendOptions().show_legend(legend)
                 .display_mode(common.LegendDisplayMode.LIST)
                 .placement(common.LegendPlacement.BOTTOM)))  # fmt: skip
    if time_from:
        p = p.time_from(time_from).hide_time_override(True)
    if thresholds_ is not None:
        p = p.thresholds(thresholds_).thresholds_style(
            cb.GraphThresholdsStyleConfig().mode(common.GraphThresholdsStyleMode.DASHED))
    if y_range is not None:
        p = p.min(y_range[0]).max(y_range[1])
    if no_value is not None:
        p = p.no_value(no_value)
    return p


def single_stat(cfg: GrafanaConfig, panel_id: int, title: str, query: str, pos: model.GridPos, *,
                unit: str = "", thresholds_: dash.ThresholdsConfig | None = None,
                mappings: list[model.ValueMap | model.RangeMap | model.RegexMap |
                               model.SpecialValueMap] | None = None,
                fmt: Format = "table", name: bool = False, fields: str = "",
                display_name: str | None = None, no_value: str | None = None,
                extra: dict[str, object] | None = None) -> stat.Panel:
    """A stat panel: one big value per row of its (table) query.

    `name`: show the field's display name above the value (e.g. the bed label); `fields`: a
    regex of the fields to show ("" = numeric fields only).
    """
    p = (stat.Panel().id(panel_id).title(title).grid_pos(pos)
         .datasource(datasource_ref(cfg.datasource_uid))
         .with_target(sql_target(query, constants(cfg, 100, **(extra or {})), fmt, cfg.datasource_uid))
         .max_data_points(100).unit(unit)
         .reduce_options(cb.ReduceDataOptions().values(True).calcs(["lastNotNull"]).fields(fields))
         .color_mode(common.BigValueColorMode.BACKGROUND).graph_mode(common.BigValueGraphMode.NONE)
         .text_mode(common.BigValueTextMode.VALUE_AND_NAME if name else common.BigValueTextMode.VALUE))
    if thresholds_ is not None:
        p = p.thresholds(thresholds_)
    if mappings:
        p = p.mappings(mappings)
    if display_name:
        p = p.display_name(display_name)
    if no_value is not None:
        p = p.no_value(no_value)
    return p


def bars(cfg: GrafanaConfig, panel_id: int, title: str, query: str, pos: model.GridPos,
         x_field: str) -> barchart.Panel:
    """A bar chart of a (category, count) table, e.g. a histogram binned in SQL."""
    return (barchart.Panel().id(panel_id).title(title).grid_pos(pos)
            .datasource(datasource_ref(cfg.datasource_uid))
            .with_target(sql_target(query, constants(cfg, 100), "table", cfg.datasource_uid))
            .max_data_points(100).x_field(x_field).show_value(common.VisibilityMode.NEVER))


def grid_table(cfg: GrafanaConfig, panel_id: int, title: str, query: str, pos: model.GridPos,
               *, points: int = 500, extra: dict[str, object] | None = None) -> table.Panel:
    return (table.Panel().id(panel_id).title(title).grid_pos(pos)
            .datasource(datasource_ref(cfg.datasource_uid))
            .with_target(sql_target(query, constants(cfg, points, **(extra or {})), "table",
                                    cfg.datasource_uid))
            .max_data_points(points).frame_index(0).show_header(True))


def value_text(options: dict[str, tuple[str, str]]) -> model.ValueMap:
    """Value -> (text, colour) mapping (e.g. a state code shown as a word)."""
    return model.ValueMap(options={k: model.ValueMappingResult(text=t, color=c, index=i)
                                   for i, (k, (t, c)) in enumerate(options.items())})


def priority_marks() -> list[model.RegexMap]:
    """Colours of an alarm text by its IEC 60601-1-8 priority mark: "!!!" high red, "!!" medium
    yellow, "!" low cyan (the first matching mapping wins, so the longest mark comes first)."""
    return [model.RegexMap(options=model.DashboardRegexMapOptions(
                pattern=pattern, result=model.ValueMappingResult(color=colour, index=i)))
            for i, (pattern, colour) in enumerate(
                (("^!!! .*", "red"), ("^!! .*", "yellow"), ("^! .*", "#00c8d7")))]


def alarm_table(cfg: GrafanaConfig, panel_id: int, title: str, query: str, pos: model.GridPos,
                column: str) -> table.Panel:
    """A table whose `column` holds priority-marked alarm texts, its cells coloured by priority."""
    return (grid_table(cfg, panel_id, title, query, pos, points=50)
            .mappings(priority_marks())  # type: ignore[arg-type]
            .override_by_name(column, [model.DynamicConfigValue(
                id_val="custom.cellOptions", value={"type": "color-background", "mode": "basic"})]))


def sql_variable(cfg: GrafanaConfig, name: str, label: str, query: str, *, multi: bool = False,
                 refresh: model.VariableRefresh = model.VariableRefresh.ON_TIME_RANGE_CHANGED,
                 hide: model.VariableHide | None = None,
                 sort: model.VariableSort = model.VariableSort.DISABLED,
                 extra: dict[str, object] | None = None) -> dash.QueryVariable:
    """A query variable; by default refreshed on every time-range change (an auto-refresh moves
    the range, so a newly admitted bed appears at the next refresh), the query's own order kept."""
    v = (dash.QueryVariable(name).label(label).datasource(datasource_ref(cfg.datasource_uid))
         .query(load_sql(query, constants(cfg, 0, **(extra or {}))).strip())
         .refresh(refresh).sort(sort))
    if multi:
        v = v.multi(True).include_all(True)
    if hide is not None:
        v = v.hide(hide)
    return v


def sql_annotation(cfg: GrafanaConfig, name: str, query: str, colour: str,
                   extra: dict[str, object] | None = None) -> dash.AnnotationQuery:
    """Annotations from SQL (columns time, timeend, text, tags), e.g. beats or alarm events."""
    target = SQLQueryBuilder(SQLQuery("Anno", load_sql(query, constants(cfg, 0, **(extra or {}))),
                                      "table", cfg.datasource_uid))
    return (dash.AnnotationQuery().name(name).datasource(datasource_ref(cfg.datasource_uid))
            .enable(True).icon_color(colour).target(target))  # type: ignore[arg-type]


def quick_ranges(*spans: str) -> dash.TimePicker:
    """The time picker's quick ranges ("now-<span>" to "now"): the ranges a dashboard offers, for
    which tests compute every panel's $__interval with Grafana's own code."""
    return dash.TimePicker().quick_ranges(
        [dash.TimeOption().display(f"Last {s}").from_val(f"now-{s}").to("now") for s in spans])
