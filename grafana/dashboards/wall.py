"""Central station (ward wall): one tile per patient, refreshed every 5 s.

A tile is a row repeated for each value of the multi-value `patient` variable: the last 10 s of
the primary lead (mV), the current heart rate coloured by the brady/tachy thresholds, the last
30 min of heart rate, and the signal state (live / noisy / stale). Rows are 3 grid units high so
16 patients fill a 1080p wall at kiosk zoom and 32 a 4K one.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.models import dashboard as model

from ecgdash.grafana.config import GrafanaConfig
from ecgdash.grafana.panels import grid, series, single_stat, thresholds
from ecgdash.grafana.panels import patient_variable as patient_var

UID = "ecg-ward-wall"
TILE_H = 3
STATE_TEXT = {"0": ("live", "green"), "1": ("noisy", "orange"), "2": ("stale", "red")}


def build(cfg: GrafanaConfig) -> dash.Dashboard:
    t = cfg.thresholds
    hr_colours = thresholds((None, "blue"), (t.brady_bpm, "green"), (t.tachy_bpm, "red"))
    state_map = model.ValueMap(options={
        k: model.ValueMappingResult(text=text, color=colour, index=i)
        for i, (k, (text, colour)) in enumerate(STATE_TEXT.items())
    })
    row = dash.Row("$patient").repeat("patient").grid_pos(grid(0, 0, 24, 1))
    return (
        dash.Dashboard("Central station")
        .uid(UID)
        .tags(["ecgdash", "wall"])
        .description("One tile per patient: ECG, heart rate, 30 min trend, signal state")
        .refresh("5s")
        .time("now-30m", "now")
        .timezone("browser")
        .tooltip(model.DashboardCursorSync.OFF)
        .with_variable(patient_var(cfg, multi=True))
        .with_row(row)
        .with_panel(series(cfg, "ECG $patient (mV, last 10 s)", "waveform_primary",
                           grid(0, 1, 13, TILE_H), points=1000, unit="mV", time_from="10s",
                           legend=False))
        .with_panel(single_stat(cfg, "HR", "wall_hr_now", grid(13, 1, 3, TILE_H), unit="bpm",
                                thresholds_=hr_colours))
        .with_panel(series(cfg, "HR 30 min", "wall_hr_trend", grid(16, 1, 5, TILE_H),
                           points=180, unit="bpm", legend=False, thresholds_=hr_colours))
        .with_panel(single_stat(cfg, "Signal", "wall_state", grid(21, 1, 3, TILE_H),
                                thresholds_=thresholds((None, "green"), (1, "orange"), (2, "red")),
                                mappings=[state_map]))
    )
