"""Patient: every lead over any range (min/max per bucket), HR trend, distributions, quality."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as dash

from ecgdash.grafana.config import GrafanaConfig
from ecgdash.grafana.panels import bars, grid, grid_table, series, thresholds
from ecgdash.grafana.panels import patient_variable as patient_var

UID = "ecg-patient"


def build(cfg: GrafanaConfig) -> dash.Dashboard:
    t = cfg.thresholds
    return (
        dash.Dashboard("Patient")
        .uid(UID)
        .tags(["ecgdash", "patient"])
        .description("One patient's ECG, heart rate and signal quality for any past range")
        .time("now-15m", "now")
        .timezone("browser")
        .with_variable(patient_var(cfg, multi=False))
        .with_panel(series(cfg, "ECG, all leads (mV; min/max per pixel on long ranges)",
                           "waveform_leads", grid(0, 0, 24, 10), points=1500, unit="mV"))
        .with_panel(series(cfg, "Heart rate (hr_1m up to 12 h, hr_1h beyond)", "patient_hr_trend",
                           grid(0, 10, 24, 8), points=1000, unit="bpm",
                           thresholds_=thresholds((None, "blue"), (t.brady_bpm, "green"),
                                                  (t.tachy_bpm, "red"))))
        .with_panel(bars(cfg, "Heart rate distribution", "patient_hr_histogram",
                         grid(0, 18, 12, 8), x_field="HR (bpm)"))
        .with_panel(bars(cfg, "RR interval distribution", "patient_rr_histogram",
                         grid(12, 18, 12, 8), x_field="RR (ms)"))
        .with_panel(series(cfg, "Signal quality", "patient_quality", grid(0, 26, 16, 8),
                           points=1000, unit="percentunit"))
        .with_panel(grid_table(cfg, "Quality flags (seconds in range)", "patient_quality_flags",
                               grid(16, 26, 8, 8)))
    )
