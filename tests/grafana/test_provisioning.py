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
    assert p["allowUiUpdates"] is False
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


def test_one_folder_by_title() -> None:
    """Alerting provisions its folder by title before the dashboards provider runs; a provider
    with folderUid looks the folder up by UID only (Grafana's file_reader.getOrCreateFolder),
    misses it and creates a second folder of the same title. By title, both find one folder."""
    (p,) = load("dashboards/ecgdash.yaml")["providers"]
    assert "folderUid" not in p
    folders = {g["folder"] for g in load("alerting/ecgdash.yaml")["groups"]}
    assert folders == {p["folder"]}


def test_panels_have_stable_ids_and_dashboards_are_read_only() -> None:
    """Ids are set in code (not by Grafana at load), unique per dashboard; dashboards are not
    editable (the provider forbids UI updates: an edit could never be saved)."""
    for name in DASHBOARDS:
        d = json.loads((PROVISIONING_DIR / f"dashboards/json/{name}.json").read_text())
        ids = [p.get("id") for p in d["panels"]]
        assert all(isinstance(i, int) and i > 0 for i in ids), (name, ids)
        assert len(set(ids)) == len(ids), name
        assert d["editable"] is False, name


def test_thresholds_are_drawn() -> None:
    """A time series with thresholds draws them (thresholdsStyle), or they only colour nothing."""
    drawn = 0
    for name in DASHBOARDS:
        d = json.loads((PROVISIONING_DIR / f"dashboards/json/{name}.json").read_text())
        for p in d["panels"]:
            steps = p.get("fieldConfig", {}).get("defaults", {}).get("thresholds", {}).get("steps", [])
            if p["type"] == "timeseries" and len(steps) > 1:
                style = p["fieldConfig"]["defaults"]["custom"].get("thresholdsStyle", {})
                assert style.get("mode", "off") != "off", (name, p["title"])
                drawn += 1
    assert drawn >= 1


GRID_ROW_PX, GRID_MARGIN_PX = 30, 8  # Grafana's grid: rows of 30 px, 8 px between them
KIOSK_CHROME_PX = 62  # kiosk mode: no navigation bar; page padding allowance (top and bottom)


def grid_bottom_px(panels: list[dict]) -> int:
    """Pixel height of a grid layout: react-grid-layout places row y at y * (30 + 8) px."""
    bottom = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in panels)
    return bottom * (GRID_ROW_PX + GRID_MARGIN_PX) - GRID_MARGIN_PX


def test_wall_fits_one_screen_per_page() -> None:
    """16 beds fit a 1080p screen and 32 a 4K one (100 % scale) in kiosk mode, with the alarm
    banner, no panel below the fold (lazy loading would leave it unqueried), preload on."""
    for name, beds, screen_px in (("wall", 16, 1080), ("wall-4k", 32, 2160)):
        d = json.loads((PROVISIONING_DIR / f"dashboards/json/{name}.json").read_text())
        assert d["preload"] is True and d["refresh"] == CFG.wall.refresh
        panels = [p for p in d["panels"] if p["type"] != "row"]
        strips = [p for p in panels if p["type"] == "timeseries"]
        assert len(strips) == beds
        assert grid_bottom_px(panels) <= screen_px - KIOSK_CHROME_PX, (name, grid_bottom_px(panels))
        for p in panels:  # inside the 24 columns, no overlaps
            g = p["gridPos"]
            assert g["x"] >= 0 and g["x"] + g["w"] <= 24
        cells = [(x, y) for p in panels for g in [p["gridPos"]]
                 for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])]
        assert len(cells) == len(set(cells)), f"{name}: overlapping panels"
        (page,) = [v for v in d["templating"]["list"] if v["name"] == "page"]
        assert page["refresh"] == 2, "the bed list must follow time-range changes (auto-refresh)"


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
