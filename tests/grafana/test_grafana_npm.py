"""Grafana's own code against our dashboards (grafana/schema_check, npm):

* every generated dashboard validates against Grafana 11.6's schema (@grafana/schema types as JSON
  Schema, ajv; unknown properties are errors, so a misspelt option cannot pass);
* every panel's ``$__interval`` for every time range its dashboard offers, computed by
  @grafana/data's ``rangeUtil.calculateInterval`` with the lower limit Grafana's query runner
  uses (the panel's ``interval``, else the datasource's ``jsonData.timeInterval || '1m'``);
* our macro expander's interval (used by the other tests and the benchmark) equals Grafana's.

Before this check, no panel set ``interval`` and the datasource no ``timeInterval``: Grafana's
floor of 1 m made the wall's 10 s strip a single 60 s bucket (blank), which
``test_panel_intervals_resolve_their_range`` and ``test_wall_strip_shows_every_sample`` catch.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
import yaml

from ecgdash.grafana.build import DASHBOARDS, PROVISIONING_DIR
from ecgdash.grafana.config import GrafanaConfig
from ecgdash.grafana.macros import (
    SQL_DATASOURCE_DEFAULT_INTERVAL,
    QueryContext,
    Variable,
    format_interval,
    parse_duration_ms,
)
from tests.helpers.grafana_data import BEDS, T0
from tests.helpers.grafana_npm import IntervalCase, grafana_intervals, schema_errors
from tests.helpers.grafana_sql import run

CFG = GrafanaConfig()
JSON_DIR = PROVISIONING_DIR / "dashboards" / "json"
NOW = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def committed(name: str) -> dict:
    import json

    return json.loads((JSON_DIR / f"{name}.json").read_text())


def datasource_interval() -> str:
    """What SqlDatasource makes of the provisioned datasource: timeInterval || '1m'."""
    doc = yaml.safe_load((PROVISIONING_DIR / "datasources/ecgdash.yaml").read_text())
    return doc["datasources"][0]["jsonData"].get("timeInterval") or SQL_DATASOURCE_DEFAULT_INTERVAL


def offered_ranges(d: dict) -> list[str]:
    """The spans a dashboard offers: its default range and its time picker's quick ranges."""
    spans = [d["time"]["from"].removeprefix("now-")]
    spans += [r["from"].removeprefix("now-") for r in d.get("timepicker", {}).get("quick_ranges", [])]
    return sorted(set(spans), key=parse_duration_ms)


def on_disk() -> list[str]:
    """The dashboards Grafana reads (test_committed_files_match_a_fresh_build ties them to code)."""
    return sorted(p.stem for p in JSON_DIR.glob("*.json"))


def series_panels(d: dict) -> list[dict]:
    return [p for p in d["panels"] if p["type"] == "timeseries"]


def test_dashboards_validate_against_grafana_schema() -> None:
    errors = schema_errors(sorted(JSON_DIR.glob("*.json")))
    assert set(errors) == {f"{n}.json" for n in DASHBOARDS}
    assert errors == {name: [] for name in errors}


def test_schema_check_catches_a_misspelt_option(tmp_path) -> None:
    """The check is strict: Grafana ignores an unknown option silently, the check must not."""
    import json

    d = committed("patient")
    panel = series_panels(d)[1]
    custom = panel["fieldConfig"]["defaults"]["custom"]
    custom["thresholdStyle"] = custom.pop("thresholdsStyle")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(d))
    (errs,) = schema_errors([bad]).values()
    assert any("thresholdStyle" in e for e in errs), errs


def test_macro_interval_matches_grafana() -> None:
    """Our expander's $__interval(_ms) equals @grafana/data's over ranges from 1 s to 30 d,
    resolutions from 100 to 10,000 points and every floor the dashboards use."""
    spans = ["1s", "10s", "15s", "1m", "5m", "15m", "30m", "1h", "6h", "12h", "24h", "7d", "30d"]
    cases = []
    for span, points, floor in itertools.product(spans, [100, 360, 1000, 1500, 2000, 10000],
                                                 [None, "1ms", "1s", "10s", "1m"]):
        cases.append(IntervalCase(NOW - timedelta(milliseconds=parse_duration_ms(span)), NOW,
                                  points, floor))
    # boundaries of Grafana's rounding table (raw interval exactly on a bound)
    for raw_ms in (10, 15, 35, 75, 150, 350, 750, 1500, 3500, 7500, 90_000, 86_400_000):
        cases.append(IntervalCase(NOW - timedelta(milliseconds=raw_ms * 100), NOW, 100, None))
    theirs = grafana_intervals(cases)
    for case, (ms, text) in zip(cases, theirs, strict=True):
        ours = QueryContext(case.time_from, case.time_to, case.max_data_points,
                            parse_duration_ms(case.min_interval) if case.min_interval else 1)
        assert (ours.interval_ms, format_interval(ours.interval_ms)) == (ms, text), case


def _panel_cases() -> list[tuple[str, dict, str, IntervalCase]]:
    out = []
    floor_default = datasource_interval()
    for name in on_disk():
        d = committed(name)
        for panel in series_panels(d):
            spans = [panel["timeFrom"]] if panel.get("timeFrom") else offered_ranges(d)
            for span in spans:
                frm = NOW - timedelta(milliseconds=parse_duration_ms(span))
                out.append((name, panel, span, IntervalCase(frm, NOW, panel["maxDataPoints"],
                                                            panel.get("interval") or floor_default)))
    return out


def test_panel_intervals_resolve_their_range() -> None:
    """Every time series, at every range its dashboard offers, gets from Grafana a $__interval that
    splits the range into at least half its maxDataPoints buckets, unless its own `interval`
    (its data's finest resolution, e.g. 1 min rollups) stops it; an ECG panel at 10 s gets 1 ms."""
    cases = _panel_cases()
    got = grafana_intervals([c[3] for c in cases])
    bad = []
    for (name, panel, span, case), (ms, text) in zip(cases, got, strict=True):
        range_ms = parse_duration_ms(span)
        native = parse_duration_ms(panel["interval"]) if panel.get("interval") else None
        wanted = range_ms / (panel["maxDataPoints"] / 2)
        if ms > wanted and (native is None or ms > native):
            bad.append(f"{name} panel {panel.get('id')} {panel['title']!r} at {span}: $__interval "
                       f"{text} from Grafana ({range_ms // ms} buckets for {panel['maxDataPoints']} "
                       f"points; floor {case.min_interval})")
        if panel.get("targets") and panel["fieldConfig"]["defaults"].get("unit") == "mV" \
                and range_ms <= 10_000:
            assert ms == 1, f"{name} {panel['title']!r} at {span}: {text}"
    assert not bad, "\n".join(bad)


def test_every_interval_using_panel_sets_its_floor() -> None:
    for name in on_disk():
        for panel in committed(name)["panels"]:
            sql = " ".join(t.get("rawSql", "") for t in panel.get("targets", []))
            if "$__interval" in sql:
                assert panel.get("interval"), f"{name}: {panel['title']!r} uses $__interval, no floor"


def test_wall_strip_shows_every_sample(reader, grafana_db) -> None:
    """The strip, run with the interval Grafana computes for it, returns every sample of the
    last 10 s of a 360 Hz signal (3600), each exactly as stored, in mV from the window mean."""
    from tests.helpers.grafana_data import SECONDS

    d = committed("wall")
    slot = sorted(BEDS.values(), key=lambda b: int(b.split()[1])).index(BEDS["sinus-101"]) + 1
    strip = next(p for p in d["panels"] if p["id"] == 100 + 10 * slot + 1)
    end = T0 + timedelta(seconds=SECONDS - 5)
    ((ms, _),) = grafana_intervals([IntervalCase(end - timedelta(seconds=10), end,
                                                 strip["maxDataPoints"],
                                                 strip.get("interval") or datasource_interval())])
    ctx = QueryContext.for_panel(strip, end - timedelta(minutes=5), end,
                                 {"page": Variable(("1",))}, grafana_db.timescaledb,
                                 datasource_interval())
    assert ctx.interval_ms == ms
    res = run(reader, strip["targets"][0]["rawSql"], ctx)
    samples = reader.execute(
        "SELECT count(*) FROM waveform_mv WHERE patient_id = 'sinus-101' AND lead = 'MLII' "
        "AND time BETWEEN %s AND %s", (end - timedelta(seconds=10), end)).fetchone()[0]
    assert samples == 3600 or samples == 3601
    assert len(res.rows) == samples, f"{len(res.rows)} points for {samples} samples"
    assert res.columns == ["time", "mV"]
    times = [r[0] for r in res.rows]
    assert times == sorted(set(times)), "one point per sample, in time order"


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_offered_ranges_exist(name) -> None:
    assert offered_ranges(committed(name))
