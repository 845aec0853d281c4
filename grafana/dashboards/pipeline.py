"""Pipeline health: ingest rate, newest sample age per bed, dead letters, sample conflicts,
data-loss gaps, and how long since each Spark query last committed (job staleness)."""

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
                           grid(0, 0, 12, 8), points=360, interval="10s", unit="short"))
        .with_panel(single_stat(cfg, 2, "Dead letters in range", "pipeline_dead_letters",
                                grid(12, 0, 4, 8),
                                thresholds_=thresholds((None, "green"), (1, "red"))))
        .with_panel(single_stat(cfg, 6, "Sample conflicts in range", "pipeline_conflicts",
                                grid(16, 0, 4, 8),
                                thresholds_=thresholds((None, "green"), (1, "orange"))))
        .with_panel(single_stat(cfg, 7, "Data-loss gaps in range", "pipeline_data_loss_count",
                                grid(20, 0, 4, 8),
                                thresholds_=thresholds((None, "green"), (1, "red"))))
        .with_panel(grid_table(cfg, 3, "Spark query lag and staleness (from the writer ledger)",
                               "pipeline_query_lag", grid(0, 8, 12, 8)))
        .with_panel(grid_table(cfg, 4, "Dead-letter reasons", "pipeline_dead_reasons",
                               grid(12, 8, 12, 8)))
        .with_panel(grid_table(cfg, 5, "Newest sample per admitted bed", "pipeline_sample_age",
                               grid(0, 16, 24, 10)))
        .with_panel(grid_table(cfg, 8, "Data-loss gaps (offsets never read)", "pipeline_data_loss",
                               grid(0, 26, 12, 8)))
        .with_panel(grid_table(cfg, 9, "Sample conflicts by patient", "pipeline_conflicts_by_patient",
                               grid(12, 26, 12, 8)))
    )
