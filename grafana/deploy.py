"""Push datasource, folder, dashboards and alerting to a running Grafana over its HTTP API.

Idempotent by UID: each object is looked up by its UID and updated, or created when missing.
The API takes real values, not ``$__env{...}`` references, so the caller passes the database
connection settings (the CLI reads them from ECG_* variables).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass

from ecgdash.grafana.alerts import GROUP, alerting_provisioning, api_rules, resolve_env
from ecgdash.grafana.build import DASHBOARDS, dashboard_json, datasource_provisioning
from ecgdash.grafana.config import GrafanaConfig
from grafana_client import GrafanaApi
from grafana_client.client import GrafanaClientError

from ecgdash.core.errors import ECGDashError


class ProvisionError(ECGDashError):
    """Grafana refused or failed a provisioning call (names the object)."""


@dataclass(frozen=True)
class DbConnection:
    """What the datasource needs to reach the database as the read-only role."""

    host: str
    port: int
    name: str
    user: str
    password: str


@dataclass
class ProvisionReport:
    created: list[str]
    updated: list[str]


def _missing(exc: GrafanaClientError) -> bool:
    return getattr(exc, "status_code", None) == 404


def _datasource(cfg: GrafanaConfig, db: DbConnection) -> dict[str, object]:
    ds = copy.deepcopy(datasource_provisioning(cfg)["datasources"][0])  # type: ignore[index]
    ds["url"] = f"{db.host}:{db.port}"
    ds["user"] = db.user
    ds["jsonData"]["database"] = db.name
    ds["secureJsonData"] = {"password": db.password}
    return ds


def provision(api: GrafanaApi, cfg: GrafanaConfig, db: DbConnection,
              contact_env: Mapping[str, str] | None = None) -> ProvisionReport:
    """Create or update every object; raises ProvisionError naming the one that failed.

    ``contact_env`` fills the contact points' ``$__env{...}`` references (the API takes real
    values, e.g. ECG_ALERT_EMAILS and ECG_ALERT_WEBHOOK_URL).
    """
    report = ProvisionReport([], [])

    def upsert(what: str, get, create, update) -> None:  # noqa: ANN001
        try:
            try:
                get()
            except GrafanaClientError as exc:
                if not _missing(exc):
                    raise
                create()
                report.created.append(what)
                return
            update()
            report.updated.append(what)
        except GrafanaClientError as exc:
            raise ProvisionError(f"Grafana refused {what}: {exc}") from exc

    ds = _datasource(cfg, db)
    upsert(f"datasource {cfg.datasource_uid}",
           lambda: api.datasource.get_datasource_by_uid(cfg.datasource_uid),
           lambda: api.datasource.create_datasource(ds),
           lambda: api.datasource.update_datasource_by_uid(cfg.datasource_uid, ds))
    upsert(f"folder {cfg.folder_uid}",
           lambda: api.folder.get_folder(cfg.folder_uid),
           lambda: api.folder.create_folder(cfg.folder_title, uid=cfg.folder_uid),
           lambda: api.folder.update_folder(cfg.folder_uid, cfg.folder_title, overwrite=True))
    for name in DASHBOARDS:
        body = {"dashboard": dashboard_json(name, cfg), "folderUid": cfg.folder_uid,
                "overwrite": True, "message": "ecgdash grafana provision"}
        try:
            api.dashboard.update_dashboard(body)  # POST /api/dashboards/db: upsert by uid
        except GrafanaClientError as exc:
            raise ProvisionError(f"Grafana refused dashboard {name}: {exc}") from exc
        report.updated.append(f"dashboard {name}")
    for rule in api_rules(cfg, cfg.folder_uid):
        uid = str(rule["uid"])
        upsert(f"alert rule {uid}",
               lambda uid=uid: api.alertingprovisioning.get_alertrule(uid),
               lambda rule=rule: api.alertingprovisioning.create_alertrule(rule),
               lambda uid=uid, rule=rule: api.alertingprovisioning.update_alertrule(uid, rule))
    alerting = alerting_provisioning(cfg)
    group = alerting["groups"][0]  # type: ignore[index]
    try:
        api.alertingprovisioning.update_rule_group(
            cfg.folder_uid, GROUP, {"title": GROUP, "interval": _seconds(group["interval"])})
        for cp in alerting["contactPoints"]:  # type: ignore[attr-defined]
            try:
                resolved = resolve_env(cp, contact_env or {})
            except KeyError as exc:
                raise ProvisionError(f"contact point {cp['name']} needs {exc.args[0]} set") from exc
            _contact_points(api, resolved)
        policy = dict(alerting["policies"][0])  # type: ignore[index]
        policy.pop("orgId", None)
        api.alertingprovisioning.set_notification_policy_tree(policy)
    except GrafanaClientError as exc:
        raise ProvisionError(f"Grafana refused the alerting configuration: {exc}") from exc
    report.updated += [f"rule group {GROUP}", "contact point", "notification policy"]
    return report


def _seconds(interval: str) -> int:
    unit = {"s": 1, "m": 60, "h": 3600}[interval[-1]]
    return int(interval[:-1]) * unit


def _contact_points(api: GrafanaApi, cp: dict) -> None:
    existing = {c.get("uid") for c in api.alertingprovisioning.get_contactpoints()}
    for r in cp["receivers"]:
        body = {"uid": r["uid"], "name": cp["name"], "type": r["type"], "settings": r["settings"],
                "disableResolveMessage": r["disableResolveMessage"]}
        if r["uid"] in existing:
            api.alertingprovisioning.update_contactpoint(r["uid"], body)
        else:
            api.alertingprovisioning.create_contactpoint(body)
