"""Pipeline health: ingest rate, newest sample age per patient, dead letters, Spark query lag."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as dash

from ecgdash.grafana.config import GrafanaConfig
from ecgdash.grafana.panels import grid, grid_table, series, single_stat, thresholds

UID = "ecg-pipeline"


def build(cfg: GrafanaConfig) -> dash.Dashboard:
    return (
        dash.Dashboard("Pipeline health")
        .uid(UID)
        .tags(["ecgdash", "pipeline"])
        .description("Is every patient's signal arriving, and is every Spark query keeping up?")
        .refresh("10s")
        .time("now-1h", "now")
        .timezone("browser")
        .with_panel(series(cfg, "Samples/s committed per Spark query", "pipeline_rate",
                           grid(0, 0, 16, 8), points=360, unit="short"))
        .with_panel(single_stat(cfg, "Dead letters in range", "pipeline_dead_letters",
                                grid(16, 0, 8, 8),
                                thresholds_=thresholds((None, "green"), (1, "red"))))
        .with_panel(grid_table(cfg, "Spark query lag (from the writer ledger)", "pipeline_query_lag",
                               grid(0, 8, 12, 8)))
        .with_panel(grid_table(cfg, "Dead-letter reasons", "pipeline_dead_reasons",
                               grid(12, 8, 12, 8)))
        .with_panel(grid_table(cfg, "Newest sample per patient", "pipeline_sample_age",
                               grid(0, 16, 24, 10)))
    )
