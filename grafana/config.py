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
    alarm_stale_s: float = 15.0  # alert: the alarm job committed nothing for this long
    stale_window_s: int = 120  # ... nor in this window at all: "no data", which fires too


@dataclass(frozen=True)
class GrafanaConfig:
    """Everything the generated provisioning depends on; defaults are what is committed."""

    thresholds: Thresholds = Thresholds()
    datasource_uid: str = "ecgdash-db"
    datasource_name: str = "ECGdashboard DB"
    folder_uid: str = "ecgdash"
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
