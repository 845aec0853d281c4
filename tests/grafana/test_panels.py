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
from tests.helpers.grafana_data import SECONDS, STREAMS, T0
from tests.helpers.grafana_sql import NUMERIC, TIMESTAMPTZ, Result, run

CFG = GrafanaConfig()
ALL = tuple(s.patient for s in STREAMS)
END = T0 + timedelta(seconds=SECONDS - 2)


def panels(name: str) -> list[dict]:
    return [p for p in dashboard_json(name, CFG)["panels"] if p.get("type") != "row"]


def _wall_var(values: tuple[str, ...]) -> dict[str, Variable]:
    return {"patient": Variable(values, multi=True, include_all=True)}


# (dashboard, case id, time range, variables)
CASES = [
    ("wall", "one-tile", (END - timedelta(minutes=30), END), _wall_var(("sinus-101",))),
    ("wall", "all", (END - timedelta(minutes=30), END), _wall_var(ALL)),
    ("patient", "3min", (T0, T0 + timedelta(seconds=SECONDS)),
     {"patient": Variable(("sinus-106",))}),
    ("patient", "13h-hr_1h", (T0 - timedelta(hours=12, minutes=55), T0 + timedelta(minutes=5)),
     {"patient": Variable(("fast-101",))}),
    ("pipeline", "1h", None, {}),
]


def check_panel(panel: dict, res: Result) -> None:
    kind, budget = panel["type"], panel["maxDataPoints"]
    title = panel["title"]
    assert res.rows, f"{title}: no rows\n{res.sql}"
    assert res.numeric_columns(), f"{title}: no numeric column: {res.columns}"
    assert any(r[i] is not None for r in res.rows for i in res.numeric_columns()), title
    if kind == "timeseries":
        assert res.columns[0] == "time" and res.types[0] == TIMESTAMPTZ, (title, res.columns)
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


@pytest.mark.parametrize("dashboard,case,span,variables", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_panel_queries(reader, grafana_db, dashboard, case, span, variables) -> None:
    if span is None:  # the ledger and dead letters carry processing time: now
        now = datetime.now(UTC)
        span = (now - timedelta(hours=1), now + timedelta(minutes=1))
    checked = 0
    for panel in panels(dashboard):
        for target in panel["targets"]:
            # the datasource sets no minimum interval and no panel sets one: 1 ms
            assert "interval" not in panel
            base = QueryContext(span[0], span[1], panel["maxDataPoints"], 1, variables,
                                grafana_db.timescaledb)
            res = run(reader, target["rawSql"], base.panel(panel.get("timeFrom")))
            check_panel(panel, res)
            checked += 1
    assert checked == sum(len(p["targets"]) for p in panels(dashboard))


def test_wall_ecg_reduces_to_budget_and_keeps_amplitude(reader) -> None:
    """10 s of 360 Hz is 3600 samples: the tile gets <= 1000 min/max buckets whose extremes are
    exactly the raw extremes (record 101's R peaks survive the reduction)."""
    panel = next(p for p in panels("wall") if p["title"].startswith("ECG"))
    ctx = QueryContext(END - timedelta(seconds=10), END, 1000, 1, _wall_var(("sinus-101",)))
    res = run(reader, panel["targets"][0]["rawSql"], ctx)
    assert 500 < len(res.rows) <= 1000
    lo, hi = res.columns.index("min mV"), res.columns.index("max mV")
    raw = reader.execute(
        "SELECT min(mv), max(mv) FROM waveform_mv WHERE patient_id = 'sinus-101' AND lead = "
        "(SELECT lead FROM signals WHERE patient_id = 'sinus-101' AND signal_index = 0) "
        "AND time BETWEEN %s AND %s", (END - timedelta(seconds=10), END)).fetchone()
    assert min(r[lo] for r in res.rows) == pytest.approx(raw[0])
    assert max(r[hi] for r in res.rows) == pytest.approx(raw[1])


def test_patient_leads_long_range_takes_chunk_path(reader) -> None:
    """A 24 h range cannot unnest every sample: buckets of >= 5 s reduce per chunk first; all
    leads are still there, within the budget."""
    panel = next(p for p in panels("patient") if p["title"].startswith("ECG"))
    ctx = QueryContext(T0 - timedelta(hours=23, minutes=57), T0 + timedelta(minutes=3),
                       panel["maxDataPoints"], 1, {"patient": Variable(("sinus-101",))})
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
    ctx = QueryContext(T0 - timedelta(hours=23, minutes=57), T0 + timedelta(minutes=3),
                       panel["maxDataPoints"], 1, {"patient": Variable(("sinus-101",))})
    sql = panel["targets"][0]["rawSql"]
    stored = run(reader, sql, ctx).rows
    with psycopg.connect(grafana_db.admin_dsn) as admin:  # one transaction, rolled back
        n = admin.execute("UPDATE waveform SET lo = NULL, hi = NULL WHERE patient_id = 'sinus-101'").rowcount
        assert n > 300
        fallback = run(admin, sql, ctx).rows
        admin.rollback()
    assert stored and fallback == stored


def test_wall_state_reports_stale_and_noisy(reader) -> None:
    panel = next(p for p in panels("wall") if p["title"] == "Signal")
    sql = panel["targets"][0]["rawSql"]
    at = lambda s: QueryContext(T0, T0 + timedelta(seconds=s), 100, 1, _wall_var(ALL))  # noqa: E731
    assert dict(run(reader, sql, at(79)).rows) == {
        "sinus-101": 0, "sinus-106": 0, "fast-101": 0, "gap-119": 1, "pause-101": 0}
    assert dict(run(reader, sql, at(175)).rows)["gap-119"] == 2


def test_every_dashboard_is_tested() -> None:
    assert {c[0] for c in CASES} == set(DASHBOARDS)
    assert all(p.get("maxDataPoints") for d in DASHBOARDS for p in panels(d))
    assert NUMERIC
