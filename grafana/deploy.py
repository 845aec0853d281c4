"""Push datasource, folder, dashboards and alerting to a running Grafana over its HTTP API.

Idempotent by UID: each object is looked up by its UID and updated, or created when missing;
the folder by its title first (as file provisioning finds it), so a Grafana provisioned from
files and then over the API keeps one folder. The API takes real values, not ``$__env{...}``
references: every reference in what is pushed is replaced from the `env` mapping the caller
passes (the CLI passes its environment), and an unset one is an error naming it.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass

from grafana_client import GrafanaApi
from grafana_client.client import GrafanaClientError

from ecgdash.core.errors import ECGDashError
from ecgdash.grafana.alerts import GROUP, alerting_provisioning, api_rules
from ecgdash.grafana.build import DASHBOARDS, dashboard_json, datasource_provisioning
from ecgdash.grafana.config import GrafanaConfig


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


_ENV_REF = re.compile(r"\$__env\{(\w+)\}")


def substitute_env(obj: object, env: Mapping[str, str], where: str) -> object:
    """A copy of `obj` with every ``$__env{NAME}`` in its strings replaced from `env` (what
    Grafana does for provisioning files at start); ProvisionError names an unset NAME."""
    if isinstance(obj, dict):
        return {k: substitute_env(v, env, where) for k, v in obj.items()}
    if isinstance(obj, list):
        return [substitute_env(v, env, where) for v in obj]
    if isinstance(obj, str):
        def sub(m: re.Match[str]) -> str:
            if not env.get(m.group(1)):
                raise ProvisionError(f"{where} needs ${m.group(1)} (Grafana's $__env{{{m.group(1)}}}), "
                                     f"which is not set")
            return env[m.group(1)]

        return _ENV_REF.sub(sub, obj)
    return obj


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
              env: Mapping[str, str] | None = None) -> ProvisionReport:
    """Create or update every object; raises ProvisionError naming the one that failed.

    `env` fills the ``$__env{NAME}`` references of the alerting objects (contact points)."""
    report = ProvisionReport([], [])
    env = env or {}

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
    folder_uid = _folder(api, cfg, report)
    for name in DASHBOARDS:
        body = {"dashboard": dashboard_json(name, cfg), "folderUid": folder_uid,
                "overwrite": True, "message": "ecgdash grafana provision"}
        try:
            api.dashboard.update_dashboard(body)  # POST /api/dashboards/db: upsert by uid
        except GrafanaClientError as exc:
            hint = ""
            if "refresh" in str(exc).lower():
                hint = (f" (the dashboard refreshes every {body['dashboard'].get('refresh')}: set "
                        "[dashboards] min_refresh_interval = 1s in grafana.ini)")
            raise ProvisionError(f"Grafana refused dashboard {name}: {exc}{hint}") from exc
        report.updated.append(f"dashboard {name}")
    for rule in api_rules(cfg, folder_uid):
        uid = str(rule["uid"])
        upsert(f"alert rule {uid}",
               lambda uid=uid: api.alertingprovisioning.get_alertrule(uid),
               lambda rule=rule: api.alertingprovisioning.create_alertrule(rule),
               lambda uid=uid, rule=rule: api.alertingprovisioning.update_alertrule(uid, rule))
    alerting = substitute_env(alerting_provisioning(cfg), env, "the alerting configuration")
    assert isinstance(alerting, dict)
    group = alerting["groups"][0]
    try:
        api.alertingprovisioning.update_rule_group(
            folder_uid, GROUP, {"title": GROUP, "interval": _seconds(group["interval"])})
        for cp in alerting["contactPoints"]:  # type: ignore[attr-defined]
            _contact_points(api, cp)
        policy = dict(alerting["policies"][0])  # type: ignore[index]
        policy.pop("orgId", None)
        api.alertingprovisioning.set_notification_policy_tree(policy)
    except GrafanaClientError as exc:
        raise ProvisionError(f"Grafana refused the alerting configuration: {exc}") from exc
    report.updated += [f"rule group {GROUP}", "contact point", "notification policy"]
    return report


def _folder(api: GrafanaApi, cfg: GrafanaConfig, report: ProvisionReport) -> str:
    """The UID of the folder titled cfg.folder_title (created with cfg.folder_uid if none)."""
    try:
        for f in api.folder.get_all_folders():
            if f.get("title") == cfg.folder_title:
                report.updated.append(f"folder {f['uid']} ({cfg.folder_title})")
                return str(f["uid"])
        api.folder.create_folder(cfg.folder_title, uid=cfg.folder_uid)
    except GrafanaClientError as exc:
        raise ProvisionError(f"Grafana refused folder {cfg.folder_title}: {exc}") from exc
    report.created.append(f"folder {cfg.folder_uid} ({cfg.folder_title})")
    return cfg.folder_uid


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
