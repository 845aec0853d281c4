"""Generated provisioning: committed files equal a fresh build, and hold what Grafana requires."""

from __future__ import annotations

import json
import re

import yaml
from ecgdash.grafana.build import DASHBOARDS, PROVISIONING_DIR, render, stale_files
from ecgdash.grafana.config import GrafanaConfig

CFG = GrafanaConfig()
ENV_NAMES = {"ECG_DB_HOST", "ECG_DB_PORT", "ECG_DB_NAME", "ECG_DB_READER_USER",
             "ECG_DB_READER_PASSWORD"}


def load(rel: str) -> dict:
    return yaml.safe_load((PROVISIONING_DIR / rel).read_text())


def test_committed_files_match_a_fresh_build() -> None:
    assert stale_files(PROVISIONING_DIR, CFG) == [], "run `ecgdash grafana build` and commit"
    generated = {p.relative_to(PROVISIONING_DIR).as_posix()
                 for p in PROVISIONING_DIR.rglob("*") if p.is_file()}
    assert generated == set(render(CFG)), "stray files in grafana/provisioning"


def test_datasource() -> None:
    doc = load("datasources/ecgdash.yaml")
    assert doc["apiVersion"] == 1
    (ds,) = doc["datasources"]
    assert ds["type"] == "grafana-postgresql-datasource" and ds["uid"] == CFG.datasource_uid
    assert ds["access"] == "proxy" and ds["name"] and ds["editable"] is False
    assert ds["jsonData"]["timescaledb"] is True and ds["jsonData"]["sslmode"] != "disable"
    text = (PROVISIONING_DIR / "datasources/ecgdash.yaml").read_text()
    assert set(re.findall(r"\$__env\{(\w+)\}", text)) == ENV_NAMES
    assert ds["secureJsonData"]["password"] == "$__env{ECG_DB_READER_PASSWORD}"
    assert "password" not in ds.get("jsonData", {})


def test_postgres_mode_datasource() -> None:
    files = render(GrafanaConfig(timescaledb=False))
    assert yaml.safe_load(files["datasources/ecgdash.yaml"])["datasources"][0]["jsonData"][
        "timescaledb"] is False


def test_dashboard_provider_and_json() -> None:
    doc = load("dashboards/ecgdash.yaml")
    assert doc["apiVersion"] == 1
    (p,) = doc["providers"]
    assert p["type"] == "file" and p["options"]["path"] and p["folder"] == CFG.folder_title
    uids = set()
    for name in DASHBOARDS:
        d = json.loads((PROVISIONING_DIR / f"dashboards/json/{name}.json").read_text())
        assert d["uid"] and d["title"] and "id" not in d
        uids.add(d["uid"])
        for panel in d["panels"]:
            for t in panel.get("targets", []):
                assert t["datasource"]["uid"] == CFG.datasource_uid and t["rawSql"].strip()
                assert "{{" not in t["rawSql"], "unfilled build-time constant"
    assert len(uids) == len(DASHBOARDS)


def test_wall_layout() -> None:
    d = json.loads((PROVISIONING_DIR / "dashboards/json/wall.json").read_text())
    assert d["refresh"] == "5s"
    (var,) = d["templating"]["list"]
    assert var["name"] == "patient" and var["multi"] and var["includeAll"]
    rows = [p for p in d["panels"] if p["type"] == "row"]
    assert len(rows) == 1 and rows[0]["repeat"] == "patient"
    tiles = [p for p in d["panels"] if p["type"] != "row"]
    assert {p["type"] for p in tiles} == {"timeseries", "stat"} and len(tiles) == 4
    assert all(p["gridPos"]["y"] == 1 for p in tiles)
    assert sum(p["gridPos"]["w"] for p in tiles) == 24


def test_alerting() -> None:
    doc = load("alerting/ecgdash.yaml")
    assert doc["apiVersion"] == 1
    (group,) = doc["groups"]
    assert group["orgId"] == 1 and group["name"] and group["folder"] and group["interval"]
    titles = {r["title"] for r in group["rules"]}
    assert titles == {"ECG alarm high", "ECG alarm medium", "ECG alarm low", "ECG alarms not decided"}
    for r in group["rules"]:
        assert r["uid"] and r["condition"] in {d["refId"] for d in r["data"]}
        assert r["noDataState"] in {"OK", "NoData", "Alerting"}
        assert r["execErrState"] in {"OK", "Error", "Alerting"}
        assert re.fullmatch(r"\d+[smh]", r["for"])
        assert r["labels"]["priority"] in {"high", "medium", "low"}
        if r["title"].startswith("ECG alarm "):
            assert "patient_id" in r["annotations"]["summary"]
        query, cond = r["data"]
        assert query["datasourceUid"] == CFG.datasource_uid and query["model"]["format"] == "table"
        assert query["relativeTimeRange"]["from"] > 0
        assert cond["datasourceUid"] == "__expr__" and cond["model"]["expression"] == "A"
    names = {cp["name"] for cp in doc["contactPoints"]}
    (policy,) = doc["policies"]
    assert policy["receiver"] in names and {"patient_id", "kind"} <= set(policy["group_by"])
    assert {r["receiver"] for r in policy["routes"]} <= names
    assert {m[2] for r in policy["routes"] for m in r["object_matchers"]} == {"high", "medium", "low"}
    types = {rc["type"] for cp in doc["contactPoints"] for rc in cp["receivers"]}
    assert types == {"email", "webhook"}


def test_cli_build_writes_the_committed_files(tmp_path) -> None:
    import argparse

    from ecgdash.cli.grafana import add_parser

    parser = argparse.ArgumentParser(prog="ecgdash")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["grafana", "build", "--out", str(tmp_path)])
    assert args.func(args, None) == 0
    assert stale_files(tmp_path, CFG) == []
    args = parser.parse_args(["grafana", "provision", "--url", "http://127.0.0.1:3000"])
    assert args.url == "http://127.0.0.1:3000" and callable(args.func)
