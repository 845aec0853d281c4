"""Alert rule queries, expanded as Grafana's alerting expands them (relative range, 1 s
interval), against both database modes: each fires on the recording made to fire it and stays
quiet on normal sinus rhythm (records 101 and 106)."""

from __future__ import annotations

import operator
from datetime import timedelta

import pytest

from ecgdash.grafana.alerts import alerting_provisioning, query_sql, specs
from ecgdash.grafana.config import GrafanaConfig
from ecgdash.grafana.macros import QueryContext
from tests.helpers.grafana_data import T0
from tests.helpers.grafana_sql import run

CFG = GrafanaConfig()
SPECS = {s.uid: s for s in specs(CFG)}
OPS = {"gt": operator.gt, "lt": operator.lt}


def firing(reader, uid: str, at_s: float, timescaledb: bool) -> dict[str, float]:
    """Patients whose value crosses the rule's threshold when evaluated at T0 + at_s."""
    spec = SPECS[uid]
    to = T0 + timedelta(seconds=at_s)
    ctx = QueryContext(to - timedelta(seconds=spec.range_s), to, 43200, 1000, {}, timescaledb)
    res = run(reader, query_sql(spec, CFG), ctx)
    assert res.columns[0] == "patient_id" and len(res.columns) == 2, res.columns
    assert len({r[0] for r in res.rows}) == len(res.rows), "one row per patient"
    return {p: v for p, v in res.rows if OPS[spec.op](v, spec.threshold)}


@pytest.mark.parametrize("at_s", [60, 120, 178])
def test_sinus_rhythm_is_quiet(reader, grafana_db, at_s) -> None:
    for uid in SPECS:
        fired = firing(reader, uid, at_s, grafana_db.timescaledb)
        assert not {"sinus-101", "sinus-106"} & set(fired), (uid, at_s, fired)


def test_tachycardia_fires_on_fast_rhythm_only(reader, grafana_db) -> None:
    fired = firing(reader, "ecg-tachycardia", 178, grafana_db.timescaledb)
    assert set(fired) == {"fast-101"} and fired["fast-101"] > SPECS["ecg-tachycardia"].threshold


def test_bradycardia_is_quiet_without_slow_rhythm(reader, grafana_db) -> None:
    assert firing(reader, "ecg-bradycardia", 178, grafana_db.timescaledb) == {}


def test_asystole_fires_on_pause_in_valid_signal_only(reader, grafana_db) -> None:
    """pause-101 has a 7 s pause in valid signal; gap-119's flat 20 s is invalid signal and its
    missing 30 s has no analysed windows: neither is asystole."""
    fired = firing(reader, "ecg-asystole", 178, grafana_db.timescaledb)
    assert set(fired) == {"pause-101"} and 6.5 < fired["pause-101"] < 9
    assert firing(reader, "ecg-asystole", 80, grafana_db.timescaledb) == {}


def test_signal_loss_fires_on_missing_stretch(reader, grafana_db) -> None:
    assert firing(reader, "ecg-signal-loss", 140, grafana_db.timescaledb) == {}
    fired = firing(reader, "ecg-signal-loss", 165, grafana_db.timescaledb)
    assert set(fired) == {"gap-119"} and 14 < fired["gap-119"] < 16


def test_noisy_fires_on_flat_stretch(reader, grafana_db) -> None:
    assert firing(reader, "ecg-noisy-signal", 55, grafana_db.timescaledb) == {}
    assert set(firing(reader, "ecg-noisy-signal", 80, grafana_db.timescaledb)) == {"gap-119"}


def test_rules_are_the_provisioned_ones() -> None:
    rules = alerting_provisioning(CFG)["groups"][0]["rules"]
    assert [r["uid"] for r in rules] == list(SPECS)
    for r in rules:
        sql = r["data"][0]["model"]["rawSql"]
        assert sql == query_sql(SPECS[r["uid"]], CFG)
        assert r["data"][1]["model"]["conditions"][0]["evaluator"]["params"] == [
            SPECS[r["uid"]].threshold]
