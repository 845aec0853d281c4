"""Alert rules (one group, one rule per condition, each naming the patient), a default contact
point and a notification policy. Every rule's query returns one row per patient (string column
``patient_id`` becomes the label, the number the value); a threshold expression compares it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ecgdash.grafana.config import GrafanaConfig
from ecgdash.grafana.sqlquery import SQLQuery, load_sql

GROUP = "ecg-patients"
CONTACT_POINT = "ecg-ward"


@dataclass(frozen=True)
class AlertSpec:
    uid: str
    title: str
    query: str  # queries/<name>.sql
    op: Literal["gt", "lt"]
    threshold: float
    range_s: int  # relative evaluation range: [now - range_s, now]
    pending: str  # Grafana's `for`
    severity: Literal["critical", "warning", "technical"]
    summary: str


def specs(cfg: GrafanaConfig) -> list[AlertSpec]:
    t = cfg.thresholds
    return [
        AlertSpec("ecg-tachycardia", "Tachycardia", "alert_hr", "gt", t.tachy_bpm, 300, "30s",
                  "warning", f"HR above {t.tachy_bpm:g} bpm"),
        AlertSpec("ecg-bradycardia", "Bradycardia", "alert_hr", "lt", t.brady_bpm, 300, "30s",
                  "warning", f"HR below {t.brady_bpm:g} bpm"),
        AlertSpec("ecg-asystole", "Asystole", "alert_asystole", "gt", t.asystole_s, 180,
                  "0s", "critical", f"no beat for over {t.asystole_s:g} s in valid signal"),
        AlertSpec("ecg-signal-loss", "Signal loss", "alert_signal_loss", "gt", t.signal_loss_s,
                  3600, "0s", "critical", f"no samples for {t.signal_loss_s:g} s"),
        AlertSpec("ecg-noisy-signal", "Noisy signal", "alert_noisy", "gt", t.noisy_fraction, 300,
                  "1m", "technical", "ECG signal unusable or noisy (check electrodes)"),
    ]


def query_sql(spec: AlertSpec, cfg: GrafanaConfig) -> str:
    return load_sql(spec.query, cfg.placeholders())


def _rule(spec: AlertSpec, cfg: GrafanaConfig) -> dict[str, object]:
    sql = SQLQuery("A", query_sql(spec, cfg), "table", cfg.datasource_uid).to_json()
    sql.update({"intervalMs": 1000, "maxDataPoints": 43200})
    condition = {
        "refId": "C",
        "type": "threshold",
        "expression": "A",
        "datasource": {"type": "__expr__", "uid": "__expr__"},
        "conditions": [{"evaluator": {"type": spec.op, "params": [spec.threshold]}}],
    }
    return {
        "uid": spec.uid,
        "title": spec.title,
        "condition": "C",
        "data": [
            {"refId": "A", "relativeTimeRange": {"from": spec.range_s, "to": 0},
             "datasourceUid": cfg.datasource_uid, "model": sql},
            {"refId": "C", "relativeTimeRange": {"from": 0, "to": 0},
             "datasourceUid": "__expr__", "model": condition},
        ],
        "noDataState": "OK",  # no patient in range: nobody to alarm about
        "execErrState": "Error",
        "for": spec.pending,
        "annotations": {
            "summary": f"{spec.title}: patient {{{{ $labels.patient_id }}}}: {spec.summary}",
            "description": f"value {{{{ $values.A.Value }}}} ({spec.op} {spec.threshold:g})",
        },
        "labels": {"severity": spec.severity, "team": "ward"},
        "isPaused": False,
    }


def alerting_provisioning(cfg: GrafanaConfig) -> dict[str, object]:
    """The alerting provisioning file: rule group, contact point, policy (apiVersion 1)."""
    return {
        "apiVersion": 1,
        "groups": [{
            "orgId": 1,
            "name": GROUP,
            "folder": cfg.folder_title,
            "interval": cfg.alert_interval,
            "rules": [_rule(s, cfg) for s in specs(cfg)],
        }],
        "contactPoints": [{
            "orgId": 1,
            "name": CONTACT_POINT,
            "receivers": [{
                "uid": "ecg-ward-email",
                "type": "email",
                "settings": {"addresses": f"$__env{{{cfg.contact_email_env}}}",
                             "singleEmail": False},
                "disableResolveMessage": False,
            }],
        }],
        "policies": [{
            "orgId": 1,
            "receiver": CONTACT_POINT,
            "group_by": ["grafana_folder", "alertname", "patient_id"],
            "group_wait": "0s",  # a clinical alarm goes out at once
            "group_interval": "1m",
            "repeat_interval": "15m",
        }],
    }


def api_rules(cfg: GrafanaConfig, folder_uid: str) -> list[dict[str, object]]:
    """The same rules in the HTTP provisioning API's shape (/api/v1/provisioning/alert-rules)."""
    out = []
    for s in specs(cfg):
        r = _rule(s, cfg)
        r.update({"folderUID": folder_uid, "ruleGroup": GROUP, "orgID": 1})
        out.append(r)
    return out
