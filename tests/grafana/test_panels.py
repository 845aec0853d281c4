"""Every panel's SQL, expanded as Grafana expands it, against both database modes.

Each query runs as ecg_reader on the data of conftest.py and must return what its panel type
needs (time series: a "time" timestamptz column and numbers, sorted by time; stat: numbers;
bar chart: its x field and numbers), be non-empty, and stay within the panel's maxDataPoints.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ecgdash.grafana.build import DASHBOARDS, dashboard_json
from ecgdash.grafana.config import GrafanaConfig
from ecgdash.grafana.macros import QueryContext, Variable
from tests.helpers.grafana_data import BEDS, SECONDS, T0
from tests.helpers.grafana_sql import INT8, NUMERIC, TIMESTAMPTZ, Result, run

CFG = GrafanaConfig()
END = T0 + timedelta(seconds=SECONDS - 2)
PAGE1 = {"page": Variable(("1",))}
ADMITTED = len(BEDS)  # slots 1..5 hold a bed; the other slots of page 1 are empty


def panels(name: str) -> list[dict]:
    return [p for p in dashboard_json(name, CFG)["panels"] if p.get("type") != "row"]


def slot_of(panel: dict) -> int | None:
    return (panel["id"] - 100) // 10 if panel["id"] > 100 else None


# (dashboard, case id, time range, variables)
CASES = [
    # at 140 s every stream still has signal (gap-119's stops at 150 s)
    ("wall", "page1", (T0 - timedelta(seconds=160), T0 + timedelta(seconds=140)), PAGE1),
    ("wall-4k", "page1", (T0 - timedelta(seconds=160), T0 + timedelta(seconds=140)), PAGE1),
    ("patient", "3min", (T0, T0 + timedelta(seconds=SECONDS)),
     {"patient": Variable(("sinus-106",))}),
    ("patient", "13h-hr_1h", (T0 - timedelta(hours=12, minutes=55), T0 + timedelta(minutes=5)),
     {"patient": Variable(("fast-101",))}),
    ("pipeline", "1h", None, {}),
]


def check_panel(panel: dict, res: Result) -> None:
    kind, budget = panel["type"], panel["maxDataPoints"]
    title = f"{panel['id']} {panel['title']}"
    assert res.rows, f"{title}: no rows\n{res.sql}"
    text_only = (kind == "stat" and panel["options"]["reduceOptions"].get("fields")
                 or kind == "table" and res.text_columns())
    if not text_only:
        assert res.numeric_columns(), f"{title}: no numeric column: {res.columns}"
        assert any(r[i] is not None for r in res.rows for i in res.numeric_columns()), title
    if kind == "timeseries":
        # a timestamp, or epoch milliseconds (Grafana reads a numeric time by its magnitude)
        assert res.columns[0] == "time", (title, res.columns)
        assert res.types[0] == TIMESTAMPTZ or (
            res.types[0] == INT8 and all(1e12 <= r[0] < 1e13 for r in res.rows)), (title, res.types)
        times = [r[0] for r in res.rows]
        assert times == sorted(times), f"{title}: not sorted by time"
        longest = max(res.series_lengths().values())
        assert longest <= budget, f"{title}: {longest} points > maxDataPoints {budget}"
    elif kind == "barchart":
        x = panel["options"]["xField"]
        assert x in res.columns and len(res.rows) <= budget, (title, res.columns)
    elif kind in ("stat", "table"):
        assert len(res.rows) <= budget, title
    else:
        raise AssertionError(f"unexpected panel type {kind}")


def context(panel: dict, span: tuple, variables: dict, timescaledb: bool) -> QueryContext:
    """As Grafana's query runner: maxDataPoints, the panel's interval or the datasource's 1m."""
    return QueryContext.for_panel(panel, span[0], span[1], variables, timescaledb)


@pytest.mark.parametrize("dashboard,case,span,variables", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_panel_queries(reader, grafana_db, dashboard, case, span, variables) -> None:
    if span is None:  # the ledger and dead letters carry processing time: now
        now = datetime.now(UTC)
        span = (now - timedelta(hours=1), now + timedelta(minutes=1))
    checked = 0
    for panel in panels(dashboard):
        for target in panel["targets"]:
            res = run(reader, target["rawSql"], context(panel, span, variables, grafana_db.timescaledb))
            slot = slot_of(panel) if dashboard.startswith("wall") else None
            if slot is not None and slot > ADMITTED:
                assert res.rows == [], f"empty slot {slot} shows {res.rows[:3]}"
            else:
                check_panel(panel, res)
            checked += 1
    assert checked == sum(len(p["targets"]) for p in panels(dashboard))


def slot_panel(dashboard: str, slot: int, k: int) -> dict:
    """Panel k (1 strip, 2 HR, 3 state) of a wall slot."""
    return next(p for p in panels(dashboard) if p["id"] == 100 + 10 * slot + k)


SLOT = {p: i + 1 for i, p in enumerate(sorted(BEDS, key=lambda p: int(BEDS[p].split()[1])))}


def test_wall_strip_fixed_gain_keeps_extremes(reader, grafana_db) -> None:
    """fast-101 is registered at 720 Hz: 7200 samples in 10 s, two per 2 ms bucket at most, drawn
    as min then max: the extremes survive exactly, in mV from the window's mean, on the fixed
    axis of the panel."""
    panel = slot_panel("wall", SLOT["fast-101"], 1)
    defaults = panel["fieldConfig"]["defaults"]
    assert (defaults["min"], defaults["max"]) == CFG.wall.strip_mv
    ctx = context(panel, (END - timedelta(minutes=5), END), PAGE1, grafana_db.timescaledb)
    res = run(reader, panel["targets"][0]["rawSql"], ctx)
    assert 3600 < len(res.rows) <= panel["maxDataPoints"]
    mv = [r[1] for r in res.rows]
    raw = reader.execute(
        "SELECT avg(v), min(v), max(v), min(s.gain) "
        "FROM (SELECT (mv * s.gain + s.baseline) AS v FROM waveform_mv m JOIN signals s "
        "ON s.patient_id = m.patient_id AND s.lead = m.lead WHERE m.patient_id = 'fast-101' "
        "AND s.signal_index = 0 AND m.time BETWEEN %s AND %s) x, signals s "
        "WHERE s.patient_id = 'fast-101' AND s.signal_index = 0",
        (END - timedelta(seconds=10), END)).fetchone()
    mid, lo, hi, gain = raw
    assert min(mv) == pytest.approx((lo - mid) / gain) and max(mv) == pytest.approx((hi - mid) / gain)


def test_patient_leads_long_range_takes_chunk_path(reader, grafana_db) -> None:
    """A 24 h range cannot unnest every sample: buckets of >= 5 s reduce per chunk first; all
    leads are still there, within the budget."""
    panel = next(p for p in panels("patient") if p["title"].startswith("ECG"))
    ctx = context(panel, (T0 - timedelta(hours=23, minutes=57), T0 + timedelta(minutes=3)),
                  {"patient": Variable(("sinus-101",))}, grafana_db.timescaledb)
    res = run(reader, panel["targets"][0]["rawSql"], ctx)
    lengths = res.series_lengths()
    assert len(lengths) == 2 and max(lengths.values()) <= panel["maxDataPoints"]


def test_chunk_extremes_are_stored_with_the_samples(reader) -> None:
    """The raw writer stores each chunk's min and max (ADC units) beside its samples."""
    bad = reader.execute(
        "SELECT count(*) FILTER (WHERE lo IS NULL OR hi IS NULL), "
        "count(*) FILTER (WHERE lo <> (SELECT min(v) FROM unnest(samples) v) "
        "                    OR hi <> (SELECT max(v) FROM unnest(samples) v)), count(*) "
        "FROM waveform").fetchone()
    assert bad[0] == 0 and bad[1] == 0 and bad[2] > 1000


def test_long_range_falls_back_to_samples_without_stored_extremes(grafana_db, reader) -> None:
    """Rows written before the extremes were stored (NULL lo/hi) draw the same as new ones."""
    import psycopg

    panel = next(p for p in panels("patient") if p["title"].startswith("ECG"))
    ctx = context(panel, (T0 - timedelta(hours=23, minutes=57), T0 + timedelta(minutes=3)),
                  {"patient": Variable(("sinus-101",))}, grafana_db.timescaledb)
    sql = panel["targets"][0]["rawSql"]
    stored = run(reader, sql, ctx).rows
    with psycopg.connect(grafana_db.admin_dsn) as admin:  # one transaction, rolled back
        n = admin.execute("UPDATE waveform SET lo = NULL, hi = NULL WHERE patient_id = 'sinus-101'").rowcount
        assert n > 300
        fallback = run(admin, sql, ctx).rows
        admin.rollback()
    assert stored and fallback == stored


def _slot_value(reader, grafana_db, k: int, patient: str, at_s: float):
    panel = slot_panel("wall", SLOT[patient], k)
    to = T0 + timedelta(seconds=at_s)
    res = run(reader, panel["targets"][0]["rawSql"],
              context(panel, (to - timedelta(minutes=5), to), PAGE1, grafana_db.timescaledb))
    assert len(res.rows) == 1, res.rows
    return res.rows[0][-1], res.rows[0]


def test_wall_state_reports_stale_and_noisy(grafana_db) -> None:
    """Without alarms (the test events deleted in a rolled-back transaction) a tile shows
    the signal state."""
    import psycopg

    with psycopg.connect(grafana_db.admin_dsn) as admin:
        admin.execute("DELETE FROM alarm_events")
        state = lambda p, s: _slot_value(admin, grafana_db, 3, p, s)[0]  # noqa: E731
        assert {p: state(p, 79) for p in BEDS} == {
            "sinus-101": "live", "sinus-106": "live", "fast-101": "live", "gap-119": "noisy",
            "pause-101": "live"}
        assert state("gap-119", 175) == "stale"
        admin.rollback()


def test_wall_tile_shows_active_alarm_by_priority(reader, grafana_db) -> None:
    """A bed's highest-priority active alarm replaces its state, marked !!!/!!/! and coloured
    red/yellow/cyan by the panel's mappings; an acknowledged one says so; an ended one is gone."""
    state = lambda p: _slot_value(reader, grafana_db, 3, p, 120)[0]  # noqa: E731
    assert {p: state(p) for p in BEDS} == {
        "sinus-101": "live", "sinus-106": "live", "pause-101": "!!! Asystole",
        "fast-101": "!! Tachycardia", "gap-119": "! Leads Off (ack)"}
    mappings = slot_panel("wall", 1, 3)["fieldConfig"]["defaults"]["mappings"]
    regex = [(m["options"]["pattern"], m["options"]["result"]["color"]) for m in mappings
             if m["type"] == "regex"]
    assert regex == [("^!!! .*", "red"), ("^!! .*", "yellow"), ("^! .*", "#00c8d7")]


def test_wall_banner_lists_active_alarms_newest_first(reader, grafana_db) -> None:
    banner = next(p for p in panels("wall") if p["id"] == 1)
    assert banner["type"] == "table" and banner["gridPos"]["y"] == 0 and banner["gridPos"]["w"] == 24
    to = T0 + timedelta(seconds=120)
    res = run(reader, banner["targets"][0]["rawSql"],
              context(banner, (to - timedelta(minutes=5), to), PAGE1, grafana_db.timescaledb))
    assert [(r[0], r[1]) for r in res.rows] == [
        (BEDS["pause-101"], "!!! Asystole"), (BEDS["gap-119"], "! Leads Off"),
        (BEDS["fast-101"], "!! Tachycardia")]
    # a bed admitted after `to` is not on the wall yet; before admissions nothing is listed
    early = T0 - timedelta(hours=3)
    assert run(reader, banner["targets"][0]["rawSql"],
               context(banner, (early - timedelta(minutes=5), early), PAGE1,
                       grafana_db.timescaledb)).rows == []


def test_patient_annotations_mark_beats_and_alarms(reader, grafana_db) -> None:
    d = dashboard_json("patient", CFG)
    anno = {a["name"]: a["target"]["rawSql"] for a in d["annotations"]["list"] if "target" in a}
    var = {"patient": Variable(("gap-119",))}
    ctx = QueryContext(T0, T0 + timedelta(seconds=SECONDS), 1000, 1, var, grafana_db.timescaledb)
    alarms = run(reader, anno["Alarms"], ctx)
    assert alarms.columns == ["time", "timeend", "text", "tags"]
    assert [(r[0] - T0, r[1] - T0) for r in alarms.rows] == [
        (timedelta(seconds=60), timedelta(seconds=SECONDS)),
        (timedelta(seconds=150), timedelta(seconds=151))]
    assert alarms.rows[0][2].startswith("LOW leads off") and "acknowledged" in alarms.rows[0][2]
    beats = run(reader, anno["Beats"], QueryContext(T0, T0 + timedelta(minutes=2), 1000, 1, var,
                                                     grafana_db.timescaledb))
    assert 60 < len(beats.rows) < 300 and beats.columns == ["time", "text", "tags"]
    long = QueryContext(T0, T0 + timedelta(minutes=11), 1000, 1, var, grafana_db.timescaledb)
    assert run(reader, anno["Beats"], long).rows == []  # > 10 min: no marker per beat


def test_wall_hr_asy_and_dashes(reader, grafana_db) -> None:
    """HR under the bed label: a number on sinus rhythm; -1 ("ASY") once the analysed signal
    runs 4 s past the newest beat (pause-101's 7 s pause, gap-119's flat line); -2 ("---")
    without signal (gap-119's missing stretch)."""
    hr = lambda p, s: _slot_value(reader, grafana_db, 2, p, s)  # noqa: E731
    value, row = hr("sinus-101", 60)
    assert 60 < value < 90 and row[1] == BEDS["sinus-101"]
    assert 45 < hr("pause-101", 89)[0] < 100
    assert hr("pause-101", 96)[0] == -1
    assert 45 < hr("pause-101", 110)[0] < 100
    assert hr("gap-119", 75)[0] == -1
    assert hr("gap-119", 165)[0] == -2
    panel = slot_panel("wall", 1, 2)
    texts = {m["options"][k]["text"] for m in panel["fieldConfig"]["defaults"]["mappings"]
             for k in m["options"]}
    assert texts == {"ASY", "---"}


def test_every_dashboard_is_tested() -> None:
    assert {c[0] for c in CASES} == set(DASHBOARDS)
    assert all(p.get("maxDataPoints") for d in DASHBOARDS for p in panels(d))
    assert NUMERIC
