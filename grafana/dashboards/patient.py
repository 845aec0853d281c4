"""Patient: full-disclosure review of one patient's stored ECG over any range, beats (ranges up
to 10 min) and alarm events (regions from onset to end) marked as annotations, HR and RR trends
from the rollups, distributions, quality."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.models import dashboard as model

from ecgdash.grafana.config import GrafanaConfig
from ecgdash.grafana.panels import (
    bars,
    grid,
    grid_table,
    quick_ranges,
    series,
    sql_annotation,
    sql_variable,
    thresholds,
)

UID = "ecg-patient"
RANGES = ("10s", "1m", "5m", "15m", "1h", "6h", "12h", "24h", "7d")


def build(cfg: GrafanaConfig) -> dash.Dashboard:
    t = cfg.thresholds
    return (
        dash.Dashboard("Patient")
        .uid(UID)
        .tags(["ecgdash", "patient"])
        .description("One patient's ECG, beats, heart rate and signal quality for any past range")
        .readonly()
        .time("now-15m", "now")
        .timepicker(quick_ranges(*RANGES))
        .timezone("browser")
        .with_variable(sql_variable(cfg, "patient", "Patient", "patient_list",
                                    refresh=model.VariableRefresh.ON_DASHBOARD_LOAD))
        .annotation(sql_annotation(cfg, "Beats", "patient_beats", "green"))
        .annotation(sql_annotation(cfg, "Alarms", "patient_alarms", "red"))
        .with_panel(series(cfg, 1, "ECG, all leads (mV; every sample up to 1 s buckets, min/max per "
                           "bucket beyond)", "waveform_leads", grid(0, 0, 24, 10), points=2000,
                           interval="1ms", unit="mV"))
        .with_panel(series(cfg, 2, "Heart rate (hr_1m up to 12 h, hr_1h beyond)", "patient_hr_trend",
                           grid(0, 10, 12, 8), points=1000, interval="1m", unit="bpm",
                           thresholds_=thresholds((None, "blue"), (t.brady_bpm, "green"),
                                                  (t.tachy_bpm, "red"))))
        .with_panel(series(cfg, 3, "RR interval (from the same rollups)", "patient_rr_trend",
                           grid(12, 10, 12, 8), points=1000, interval="1m", unit="ms"))
        .with_panel(bars(cfg, 4, "Heart rate distribution", "patient_hr_histogram",
                         grid(0, 18, 12, 8), x_field="HR (bpm)"))
        .with_panel(bars(cfg, 5, "RR interval distribution", "patient_rr_histogram",
                         grid(12, 18, 12, 8), x_field="RR (ms)"))
        .with_panel(series(cfg, 6, "Signal quality", "patient_quality", grid(0, 26, 16, 8),
                           points=1000, interval="1s", unit="percentunit"))
        .with_panel(grid_table(cfg, 7, "Quality flags (seconds in range)", "patient_quality_flags",
                               grid(16, 26, 8, 8)))
    )
