"""Pipeline health: ingest rate, newest sample age per patient, dead letters, Spark query lag."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as dash

from ecgdash.grafana.config import GrafanaConfig
from ecgdash.grafana.panels import grid, grid_table, quick_ranges, series, single_stat, thresholds

UID = "ecg-pipeline"


def build(cfg: GrafanaConfig) -> dash.Dashboard:
    return (
        dash.Dashboard("Pipeline health")
        .uid(UID)
        .tags(["ecgdash", "pipeline"])
        .description("Is every patient's signal arriving, and is every Spark query keeping up?")
        .readonly()
        .refresh("10s")
        .time("now-1h", "now")
        .timepicker(quick_ranges("15m", "1h", "6h", "24h"))
        .timezone("browser")
        .with_panel(series(cfg, 1, "Samples/s committed per Spark query", "pipeline_rate",
                           grid(0, 0, 16, 8), points=360, interval="10s", unit="short"))
        .with_panel(single_stat(cfg, 2, "Dead letters in range", "pipeline_dead_letters",
                                grid(16, 0, 8, 8),
                                thresholds_=thresholds((None, "green"), (1, "red"))))
        .with_panel(grid_table(cfg, 3, "Spark query lag (from the writer ledger)",
                               "pipeline_query_lag", grid(0, 8, 12, 8)))
        .with_panel(grid_table(cfg, 4, "Dead-letter reasons", "pipeline_dead_reasons",
                               grid(12, 8, 12, 8)))
        .with_panel(grid_table(cfg, 5, "Newest sample per admitted bed", "pipeline_sample_age",
                               grid(0, 16, 24, 10)))
    )
