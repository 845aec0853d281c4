"""Central station (ward wall): a fixed grid of bed tiles, one screen, paged, refreshed every 2 s.

On top, a banner of every active alarm of the ward, newest first, coloured by priority. A tile
per slot of the page: the ECG strip (last 10 s of the primary lead, every sample, fixed gain),
the heart rate under the bed label ("ASY" after 4 s of analysed signal without a beat, "---"
without signal), and the bed's active alarm coloured by priority, else its signal state.

Slot k shows the k-th bed (natural order of bed labels) admitted at the end of the range, on
page `$page`; `$page` is refreshed on every time-range change (every auto-refresh), so a newly
admitted bed appears and a discharged one leaves without editing the dashboard. The layout fits
one screen in kiosk mode (no panel below the fold, so none is lazy-loaded and left unqueried;
`preload` as well): see WallConfig. Two sizes: 16 beds for a 1080p screen, 32 for a 4K one.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.models import dashboard as model

from ecgdash.grafana.config import GrafanaConfig
from ecgdash.grafana.panels import (
    alarm_table,
    grid,
    priority_marks,
    quick_ranges,
    series,
    single_stat,
    sql_variable,
    thresholds,
    value_text,
)

UID = "ecg-ward-wall"
UID_4K = "ecg-ward-wall-4k"
BEDS_1080P = 16
BEDS_4K = 32
STATE_TEXT = {"live": ("live", "green"), "noisy": ("noisy", "orange"), "stale": ("stale", "red")}
HR_TEXT = {"-1": ("ASY", "red"), "-2": ("---", "text")}
BANNER_ID = 1
# a tile's 12 columns: strip, HR, state (or the bed's active alarm)
STRIP_W, HR_W, STATE_W = 7, 2, 3


def slot_ids(slot: int) -> tuple[int, int, int]:
    """Panel ids of slot `slot` (1-based): strip, HR, state. Stable: links and tests use them."""
    return 100 + 10 * slot + 1, 100 + 10 * slot + 2, 100 + 10 * slot + 3


def build(cfg: GrafanaConfig) -> dash.Dashboard:
    return wall(cfg, UID, f"Central station ({BEDS_1080P} beds, 1080p)", BEDS_1080P)


def build_4k(cfg: GrafanaConfig) -> dash.Dashboard:
    return wall(cfg, UID_4K, f"Central station ({BEDS_4K} beds, 4K)", BEDS_4K)


def wall(cfg: GrafanaConfig, uid: str, title: str, beds: int) -> dash.Dashboard:
    t, w = cfg.thresholds, cfg.wall
    hr_colours = thresholds((None, "blue"), (t.brady_bpm, "green"), (t.tachy_bpm, "red"))
    d = (
        dash.Dashboard(title)
        .uid(uid)
        .tags(["ecgdash", "wall"])
        .description(f"{beds} beds a page: ECG, heart rate, state; alarms on top")
        .readonly()
        .preload(True)
        .refresh(w.refresh)
        .time("now-5m", "now")
        .timepicker(quick_ranges("5m").refresh_intervals(list(w.refresh_choices)))
        .timezone("browser")
        .tooltip(model.DashboardCursorSync.OFF)
        .with_variable(sql_variable(cfg, "page", "Page", "wall_pages",
                                    sort=model.VariableSort.NUMERICAL_ASC, extra={"per_page": beds})
                       .current(model.VariableOption(text="1", value="1", selected=True)))
    )
    d = d.with_panel(alarm_table(cfg, BANNER_ID, "Active alarms (all beds, newest first)",
                                 "wall_alarms", grid(0, 0, 24, w.banner_h), "Alarm"))
    tile_w = 24 // w.beds_per_row
    assert tile_w == STRIP_W + HR_W + STATE_W, "a tile's panels fill its columns"
    for slot in range(1, beds + 1):
        col, row = (slot - 1) % w.beds_per_row, (slot - 1) // w.beds_per_row
        x, y = col * tile_w, w.banner_h + row * w.tile_h
        extra = {"slot": slot, "per_page": beds, "strip_s": w.strip_s}
        strip_id, hr_id, state_id = slot_ids(slot)
        d = d.with_panel(series(
            cfg, strip_id, "", "wall_strip", grid(x, y, STRIP_W, w.tile_h),
            points=w.strip_points, interval="1ms", unit="mV", time_from=f"{w.strip_s}s",
            legend=False, y_range=w.strip_mv, no_value=" ", extra=extra))  # empty slot: blank
        d = d.with_panel(single_stat(
            cfg, hr_id, "", "wall_hr", grid(x + STRIP_W, y, HR_W, w.tile_h), unit="none",
            thresholds_=hr_colours, mappings=[value_text(HR_TEXT)], fmt="time_series", name=True,
            display_name="${__field.labels.bed}", no_value=" ", extra=extra))
        d = d.with_panel(single_stat(
            cfg, state_id, "", "wall_status", grid(x + STRIP_W + HR_W, y, STATE_W, w.tile_h),
            mappings=[*priority_marks(), value_text(STATE_TEXT)], fields="/^status$/", no_value=" ",
            extra=extra,
            thresholds_=thresholds((None, "transparent"))))
    return d
