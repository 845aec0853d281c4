"""Alert rules that *route* the alarms the stream decides, contact points and the policy tree.

The alarm job and the watchdog write ``alarm_events`` (see ``ecgdash.core.alarms``); Grafana
computes nothing clinical. Rules:

* one per priority (high, medium, low) over ``alarms_active``: a row per patient (or stalled job)
  and kind, so every alert carries the labels ``patient_id`` and ``kind``, and the rule's
  ``priority`` label picks the route;
* "ECG alarms not decided": the alarm job's ledger has not moved for ``alarm_stale_s``; no data
  (nothing committed at all lately) and a failed query fire it too.

Contact points: ``ecg-ward`` (email to ``$ECG_ALERT_EMAILS`` and a webhook to
``$ECG_ALERT_WEBHOOK_URL`` for nurse call or paging) for high and medium, ``ecg-ward-email`` for
low. Email needs Grafana's own SMTP settings (``GF_SMTP_*``, see the README).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ecgdash.grafana.config import GrafanaConfig
from ecgdash.grafana.sqlquery import SQLQuery, load_sql

GROUP = "ecg-alarms"
CONTACT_POINT = "ecg-ward"  # email + webhook
EMAIL_ONLY = "ecg-ward-email"
PRIORITIES = ("high", "medium", "low")


@dataclass(frozen=True)
class AlertSpec:
    uid: str
    title: str
    query: str  # queries/<name>.sql
    op: Literal["gt", "lt"]
    threshold: float
    range_s: int  # relative evaluation range: [now - range_s, now]
    pending: str  # Grafana's `for`
    priority: Literal["high", "medium", "low"]
    summary: str
    no_data: Literal["OK", "Alerting"] = "OK"
    constants: tuple[tuple[str, str], ...] = ()  # extra {{name}} constants of the query


def specs(cfg: GrafanaConfig) -> list[AlertSpec]:
    t = cfg.thresholds
    out = [
        AlertSpec(f"ecg-alarm-{p}", f"ECG alarm {p}", "alert_alarms", "gt", 0.0, 60, "0s", p,
                  "{{ $labels.kind }} ({{ $labels.priority }}): patient {{ $labels.patient_id }}",
                  constants=(("priority", p),))
        for p in PRIORITIES
    ]
    out.append(AlertSpec(
        "ecg-alarms-stale", "ECG alarms not decided", "alert_stale", "gt", t.alarm_stale_s, 60,
        "0s", "high",
        f"the alarm job committed nothing for over {t.alarm_stale_s:g} s: alarms are not being "
        "decided for any patient", no_data="Alerting"))
    return out


def query_sql(spec: AlertSpec, cfg: GrafanaConfig) -> str:
    return load_sql(spec.query, {**cfg.placeholders(), **dict(spec.constants)})


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
    labels = {"priority": spec.priority, "team": "ward"}
    if spec.query == "alert_stale":
        labels["kind"] = "job_stalled"
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
        # priority rules: no row = nothing latched. The staleness rule: no row = no commit.
        "noDataState": spec.no_data,
        "execErrState": "Alerting",  # a query that fails must not go quiet
        "for": spec.pending,
        "annotations": {
            "summary": f"{spec.title}: {spec.summary}",
            "description": "value {{ $values.A.Value }}",
        },
        "labels": labels,
        "isPaused": False,
    }


def contact_points(cfg: GrafanaConfig) -> list[dict[str, Any]]:
    email = {"uid": "ecg-ward-email", "type": "email",
             "settings": {"addresses": f"$__env{{{cfg.contact_email_env}}}", "singleEmail": False},
             "disableResolveMessage": False}
    webhook = {"uid": "ecg-ward-webhook", "type": "webhook",
               "settings": {"url": f"$__env{{{cfg.contact_webhook_env}}}", "httpMethod": "POST",
                            "maxAlerts": 0},
               "disableResolveMessage": False}
    email_only = {**email, "uid": "ecg-ward-email-low"}
    return [
        {"orgId": 1, "name": CONTACT_POINT, "receivers": [email, webhook]},
        {"orgId": 1, "name": EMAIL_ONLY, "receivers": [email_only]},
    ]


def policy(cfg: GrafanaConfig) -> dict[str, Any]:
    """Root to email; high and medium to email + webhook. A high alarm goes out at once and is
    repeated every 2 min until acknowledged (the rule resolves when it is)."""
    def route(priority: str, receiver: str, wait: str, interval: str, repeat: str) -> dict:
        return {"receiver": receiver, "object_matchers": [["priority", "=", priority]],
                "group_wait": wait, "group_interval": interval, "repeat_interval": repeat}

    return {
        "orgId": 1,
        "receiver": EMAIL_ONLY,
        "group_by": ["grafana_folder", "alertname", "patient_id", "kind"],
        "group_wait": "0s",
        "group_interval": "1m",
        "repeat_interval": "1h",
        "routes": [
            route("high", CONTACT_POINT, "0s", "10s", "2m"),
            route("medium", CONTACT_POINT, "0s", "30s", "15m"),
            route("low", EMAIL_ONLY, "30s", "1m", "1h"),
        ],
    }


def alerting_provisioning(cfg: GrafanaConfig) -> dict[str, object]:
    """The alerting provisioning file: rule group, contact points, policy (apiVersion 1)."""
    return {
        "apiVersion": 1,
        "groups": [{
            "orgId": 1,
            "name": GROUP,
            "folder": cfg.folder_title,
            "interval": cfg.alert_interval,
            "rules": [_rule(s, cfg) for s in specs(cfg)],
        }],
        "contactPoints": contact_points(cfg),
        "policies": [policy(cfg)],
    }


def api_rules(cfg: GrafanaConfig, folder_uid: str) -> list[dict[str, object]]:
    """The same rules in the HTTP provisioning API's shape (/api/v1/provisioning/alert-rules)."""
    out = []
    for s in specs(cfg):
        r = _rule(s, cfg)
        r.update({"folderUID": folder_uid, "ruleGroup": GROUP, "orgID": 1})
        out.append(r)
    return out


_ENV = re.compile(r"\$__env\{([A-Za-z0-9_]+)\}")


def resolve_env(obj: Any, env: Mapping[str, str]) -> Any:
    """``obj`` with every ``$__env{NAME}`` replaced by ``env[NAME]`` (as Grafana's file
    provisioning does; the HTTP API takes real values). A missing name is a KeyError."""
    if isinstance(obj, str):
        return _ENV.sub(lambda m: env[m.group(1)], obj)
    if isinstance(obj, dict):
        return {k: resolve_env(v, env) for k, v in obj.items()}
    if isinstance(obj, list):
        return [resolve_env(v, env) for v in obj]
    return obj
