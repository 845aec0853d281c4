"""Settings of the dashboards and alert rules: thresholds, budgets, names. Plain values, no env."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Thresholds:
    """Clinical and technical thresholds shared by the wall's colours, states and alert rules."""

    tachy_bpm: float = 120.0  # adult tachycardia alarm (bedside monitors default 120-150)
    brady_bpm: float = 40.0  # adult bradycardia alarm (bedside monitors default 40-50)
    hr_window_s: int = 30  # heart rate for the HR alarms: mean over this much of the newest beats
    hr_min_beats: int = 5  # fewer trusted beats than this in the window: no HR verdict
    asystole_s: float = 4.0  # no beat for this long in valid signal
    signal_loss_s: float = 10.0  # no samples for this long
    noisy_fraction: float = 0.5  # share of unusable/flagged windows for the technical alarm
    quality_window_s: int = 30  # the newest analysed signal the noise verdict looks at
    stale_s: float = 10.0  # wall: a tile turns "stale" when its newest sample is this old
    hr_now_beats: int = 8  # wall: current HR = mean of this many newest trusted beats
    hr_now_max_age_s: int = 120  # ... no older than this (the HR job writes about once a minute)
    hr_1h_from_s: int = 12 * 3600  # patient view: ranges longer than this read hr_1h, else hr_1m
    no_beat_s: float = 4.0  # wall: HR reads "ASY" when analysed signal runs this long past the newest beat
    recent_s: int = 3600  # lower bound of every "newest row" lookup: older rows are history
    alarm_stale_s: float = 15.0  # alert: the alarm job committed nothing for this long
    stale_window_s: int = 120  # ... nor in this window at all: "no data", which fires too


@dataclass(frozen=True)
class WallConfig:
    """The ward wall: a fixed grid of bed slots, paged, sized to fit one screen without scrolling.

    Grafana's grid: 24 columns, rows of 30 px with 8 px margins (a panel h units high is
    30 h + 8 (h - 1) px). Two beds per grid row, each 12 columns wide and `tile_h` units high,
    under an alarm banner `banner_h` units high: 16 beds = 3 + 8 x 3 = 27 units = 1018 px (a
    1080p screen in kiosk mode); 32 beds = 3 + 16 x 3 = 51 units = 1930 px (4K at 100 % scale).
    """

    strip_s: int = 10  # seconds of ECG per tile
    strip_max_fs_hz: int = 500  # every sample of signals up to this rate is drawn (MIT-BIH 360 Hz)
    strip_mv: tuple[float, float] = (-1.5, 2.0)  # fixed y range, mV: a fixed gain, no auto-scale
    tile_h: int = 3  # grid units per bed
    banner_h: int = 3  # grid units of the alarm banner
    beds_per_row: int = 2
    refresh: str = "2s"  # the raw writer commits every 2 s; Grafana needs min_refresh_interval <= 1s
    refresh_choices: tuple[str, ...] = ("1s", "2s", "5s", "10s")

    @property
    def strip_points(self) -> int:
        """maxDataPoints of a strip: strip_s x 1 kHz, so that at strip_s Grafana's $__interval is
        1 ms and the query's bucket (range / (points - 1), rounded up) is 2 ms <= 1/strip_max_fs."""
        return self.strip_s * 1000


@dataclass(frozen=True)
class GrafanaConfig:
    """Everything the generated provisioning depends on; defaults are what is committed."""

    thresholds: Thresholds = Thresholds()
    wall: WallConfig = WallConfig()
    datasource_uid: str = "ecgdash-db"
    datasource_name: str = "ECGdashboard DB"
    # The dashboards provider finds its folder by title, as alerting does: on a fresh start
    # alerting creates the folder by title first, and a provider `folderUid` would make a second
    # folder of the same title (Grafana's file_reader looks a folder up by UID when one is given).
    folder_uid: str = "ecgdash"  # used by the HTTP API path only, for a folder it creates
    folder_title: str = "ECGdashboard"
    timescaledb: bool = True  # jsonData.timescaledb: False for PostgreSQL mode (e.g. RDS)
    alert_interval: str = "10s"  # how often Grafana evaluates the rule group
    contact_email_env: str = "ECG_ALERT_EMAILS"  # env var with the ward's alert addresses
    contact_webhook_env: str = "ECG_ALERT_WEBHOOK_URL"  # env var: nurse call / paging webhook URL
    sslmode: str = "require"  # TLS to the database ("verify-full" with a CA file where issued)
    # where Grafana finds the dashboard JSON (cloud-init syncs provisioning/ to /etc/grafana/...)
    dashboards_path: str = "/etc/grafana/provisioning/dashboards/json"

    def placeholders(self) -> dict[str, str]:
        """Build-time constants substituted for ``{{name}}`` in the query files."""
        return {k: f"{v:g}" if isinstance(v, float) else str(v)
                for k, v in asdict(self.thresholds).items()}
