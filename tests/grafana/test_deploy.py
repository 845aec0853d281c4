"""The HTTP API path (`ecgdash grafana provision`) against a recording stand-in for Grafana's
client (no Grafana server can be obtained here): one folder found by title, real values where
the provisioning files hold $__env{...}, and errors that name what is missing."""

from __future__ import annotations

import json

import pytest
from grafana_client.client import GrafanaClientError

from ecgdash.grafana.config import GrafanaConfig
from ecgdash.grafana.deploy import DbConnection, ProvisionError, provision, substitute_env

CFG = GrafanaConfig()
DB = DbConnection("db.internal", 5432, "ecg", "ecg_reader", "pw")


class Recorder:
    """Answers like grafana-client's namespaced API and records every call."""

    def __init__(self, folders: list[dict]) -> None:
        self.calls: list[tuple[str, tuple]] = []
        self._folders = folders

    def __getattr__(self, namespace: str):
        rec = self

        class NS:
            def __getattr__(self, method: str):
                def call(*args, **kwargs):
                    rec.calls.append((f"{namespace}.{method}", args + tuple(kwargs.items())))
                    if method == "get_all_folders":
                        return rec._folders
                    if method == "get_contactpoints":
                        return []
                    if method.startswith("get_"):
                        raise GrafanaClientError(404, {}, "not found")
                    return {}
                return call
        return NS()


def test_folder_found_by_title_and_env_substituted() -> None:
    api = Recorder([{"uid": "abc123", "title": CFG.folder_title}])
    env = {"ECG_ALERT_EMAILS": "ward@example.org", "ECG_ALERT_WEBHOOK_URL": "http://127.0.0.1:9/hook"}
    provision(api, CFG, DB, env=env)  # type: ignore[arg-type]
    names = [c[0] for c in api.calls]
    assert "folder.create_folder" not in names, "an existing folder of that title is reused"
    dashboards = [c[1][0] for c in api.calls if c[0] == "dashboard.update_dashboard"]
    assert dashboards and all(d["folderUid"] == "abc123" for d in dashboards)
    pushed = json.dumps([c[1] for c in api.calls], default=str)
    assert "$__env{" not in pushed, "the API gets real values, never $__env references"


def test_folder_created_when_missing() -> None:
    api = Recorder([])
    provision(api, CFG, DB, env={"ECG_ALERT_EMAILS": "a@b", "ECG_ALERT_WEBHOOK_URL": "http://x"})  # type: ignore[arg-type]
    created = [c for c in api.calls if c[0] == "folder.create_folder"]
    assert len(created) == 1 and created[0][1][0] == CFG.folder_title


def test_unset_env_is_named() -> None:
    with pytest.raises(ProvisionError, match="NOT_SET_HERE"):
        substitute_env({"a": ["x $__env{NOT_SET_HERE} y"]}, {}, "the test")
    assert substitute_env({"a": "$__env{A}:$__env{B}"}, {"A": "1", "B": "2"}, "t") == {"a": "1:2"}
