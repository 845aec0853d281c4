"""Alert rules, run as Grafana's alerting runs them (relative range, 1 s interval, macros
expanded), on both database modes: the priority rules route the latched alarm events with the
patient and kind as labels, the staleness rule fires on an old ledger and on no data, and a flat
line decided by the alarm engine reaches a local webhook receiver with the patient named."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import psycopg
import pytest

from ecgdash.core.alarms import Limits, PatientMonitor
from ecgdash.grafana.alerts import CONTACT_POINT, alerting_provisioning, query_sql, specs
from ecgdash.grafana.config import GrafanaConfig
from ecgdash.grafana.macros import QueryContext
from ecgdash.ingest.records import read_record
from ecgdash.timescale.alarms import acknowledge, write_alarm_batch
from ecgdash.timescale.ledger import BatchKey
from tests.helpers import MITDB
from tests.helpers.alarm_signals import splice_pause
from tests.helpers.grafana_notify import ALERT_KEYS, WEBHOOK_KEYS, instances, notify, route
from tests.helpers.grafana_sql import run

CFG = GrafanaConfig()
SPECS = {s.uid: s for s in specs(CFG)}
DOC = alerting_provisioning(CFG)
NOW = datetime.now(UTC)


def evaluate(reader: psycopg.Connection, uid: str, timescaledb: bool):
    spec = SPECS[uid]
    ctx = QueryContext(NOW - timedelta(seconds=spec.range_s), NOW, 43200, 1000, {}, timescaledb)
    return run(reader, query_sql(spec, CFG), ctx)


def _event(patient: str, kind: str, priority: str, action: str, onset_s: float, at_s: float,
           value: float = 1.0) -> dict:
    base = int(NOW.timestamp() * 1e6)
    return {"patient_id": patient, "kind": kind, "priority": priority, "action": action,
            "onset_us": base + int(onset_s * 1e6), "at_us": base + int(at_s * 1e6),
            "value": value, "message": f"{kind} test"}


@pytest.fixture
def admin(grafana_db) -> Iterator[psycopg.Connection]:
    with psycopg.connect(grafana_db.admin_dsn, prepare_threshold=None) as conn:
        yield conn


def test_rules_are_the_provisioned_ones() -> None:
    rules = DOC["groups"][0]["rules"]
    assert [r["uid"] for r in rules] == list(SPECS)
    assert {r["labels"]["priority"] for r in rules} == {"high", "medium", "low"}
    for r in rules:
        assert r["data"][0]["model"]["rawSql"] == query_sql(SPECS[r["uid"]], CFG)
        assert r["execErrState"] == "Alerting"
    stale = next(r for r in rules if r["uid"] == "ecg-alarms-stale")
    assert stale["noDataState"] == "Alerting", "a stopped job must raise an alarm, never silence"


def test_priority_rules_route_latched_alarms(admin, reader, grafana_db) -> None:
    """High latches until acknowledged; medium and low last as long as their condition."""
    tag = uuid.uuid4().hex[:6]
    rows = [
        _event(f"a-{tag}", "asystole", "high", "raise", -30, -25, 5.2),
        _event(f"a-{tag}", "asystole", "high", "end", -30, -20),  # ended, not acknowledged
        _event(f"t-{tag}", "tachycardia", "medium", "raise", -20, -18, 131),
        _event(f"b-{tag}", "bradycardia", "medium", "raise", -40, -38, 47),
        _event(f"b-{tag}", "bradycardia", "medium", "end", -40, -30),  # over: not latched
        _event(f"n-{tag}", "noisy", "low", "raise", -15, -5, 1),
    ]
    assert write_alarm_batch(admin, BatchKey(f"test-{tag}", "alarm_job", 0), rows)
    assert not write_alarm_batch(admin, BatchKey(f"test-{tag}", "alarm_job", 0), rows)

    def firing(priority: str) -> set[tuple]:
        res = evaluate(reader, f"ecg-alarm-{priority}", grafana_db.timescaledb)
        assert res.columns == ["patient_id", "kind", "latched"]
        return {tuple(r[:2]) for r in res.rows if r[0].endswith(tag) and r[2] > 0}

    assert firing("high") == {(f"a-{tag}", "asystole")}
    assert firing("medium") == {(f"t-{tag}", "tachycardia")}
    assert firing("low") == {(f"n-{tag}", "noisy")}
    assert acknowledge(admin, "nurse-1", patient=f"a-{tag}") != []
    assert firing("high") == set()
    active = reader.execute("SELECT patient_id, kind, acked FROM alarms_active "
                            "WHERE patient_id LIKE %s ORDER BY 1", (f"%-{tag}",)).fetchall()
    assert active == [(f"n-{tag}", "noisy", False), (f"t-{tag}", "tachycardia", False)]


def test_staleness_rule_fires_on_old_ledger_and_on_no_data(admin, reader, grafana_db) -> None:
    spec = SPECS["ecg-alarms-stale"]
    admin.execute("DELETE FROM writer_batches WHERE query_name = 'alarm_job'")
    admin.commit()
    assert evaluate(reader, spec.uid, grafana_db.timescaledb).rows == [], \
        "no commit at all: no data, which the rule treats as firing"
    for age_s, fires in ((3, False), (40, True)):
        admin.execute("DELETE FROM writer_batches WHERE query_name = 'alarm_job'")
        admin.execute(
            "INSERT INTO writer_batches (query_id, batch_id, query_name, messages, chunks, samples,"
            " duplicates_skipped, dead_lettered, committed_at) VALUES ('q', 1, 'alarm_job', 1, 0, 0,"
            " 0, 0, now() - make_interval(secs => %s))", (age_s,))
        admin.commit()
        res = evaluate(reader, spec.uid, grafana_db.timescaledb)
        assert len(res.rows) == 1 and res.rows[0][0] == "alarm_job"
        assert (res.rows[0][1] > spec.threshold) == fires, res.rows
    admin.execute("DELETE FROM writer_batches WHERE query_name = 'alarm_job'")
    admin.commit()


class _Receiver(BaseHTTPRequestHandler):
    got: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).got.append(json.loads(body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def test_flat_line_reaches_the_webhook_with_the_patient_named(admin, reader, grafana_db) -> None:
    """Record 119 with a 10 s flat line: the alarm engine raises asystole (high), the high
    rule fires for that patient, the policy routes it to ecg-ward, and the webhook receiver on
    127.0.0.1 gets a Grafana-shaped payload naming the patient and the kind."""
    tag = uuid.uuid4().hex[:6]
    patient = f"bed7-{tag}"
    rec = read_record(MITDB / "119")
    import wfdb

    ann = wfdb.rdann(str(MITDB / "119"), "atr")
    beats = np.array([s for s, y in zip(ann.sample, ann.symbol, strict=True) if y in "NV"])
    adc, _, inj = splice_pause(rec.adc, beats, rec.fs, int(20 * rec.fs), 10, "flat")
    mon = PatientMonitor()
    mon.set_leads(("MLII", "V1"), tuple(s.gain for s in rec.signals))
    start_us = int((NOW - timedelta(seconds=50)).timestamp() * 1e6)
    trans = []
    for i in range(0, int(45 * rec.fs), 360):
        trans += mon.feed(i, start_us, rec.fs, adc[i : i + 360].T, Limits())
    rows = [{"patient_id": patient, "kind": t.kind, "priority": t.priority, "action": t.action,
             "onset_us": t.onset_us, "at_us": t.at_us, "value": t.value, "message": t.message}
            for t in trans]
    assert [(r["kind"], r["action"]) for r in rows] == [("asystole", "raise"), ("asystole", "end")]
    assert abs(rows[0]["onset_us"] - start_us - inj.onset / rec.fs * 1e6) < 0.15e6
    write_alarm_batch(admin, BatchKey(f"test-{tag}", "alarm_job", 0), rows)

    res = evaluate(reader, "ecg-alarm-high", grafana_db.timescaledb)
    rows_here = [r for r in res.rows if r[0] == patient]
    alerts = instances(DOC, "ecg-alarm-high", res.columns, rows_here)
    assert len(alerts) == 1 and alerts[0]["labels"]["patient_id"] == patient
    assert route(DOC, alerts[0]["labels"])[0] == CONTACT_POINT

    _Receiver.got = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/nurse-call"
        sent = notify(DOC, alerts, {"ECG_ALERT_WEBHOOK_URL": url,
                                    "ECG_ALERT_EMAILS": "ward7@example.org"})
    finally:
        server.shutdown()
        server.server_close()
    assert sorted(sent) == [("email", "ward7@example.org"), ("webhook", url)]
    (body,) = _Receiver.got
    assert set(body) >= WEBHOOK_KEYS and all(set(a) >= ALERT_KEYS for a in body["alerts"])
    (alert,) = body["alerts"]
    assert alert["labels"]["patient_id"] == patient and alert["labels"]["kind"] == "asystole"
    assert alert["labels"]["priority"] == "high"
    assert patient in alert["annotations"]["summary"] and "asystole" in body["message"]
    assert body["commonLabels"]["patient_id"] == patient


def test_provisioned_contact_points_name_the_agreed_env() -> None:
    """The Terraform Grafana host sets these variables (README "Alarms")."""
    text = (Path(__file__).parents[2] / "grafana" / "provisioning" / "alerting" / "ecgdash.yaml"
            ).read_text()
    assert "$__env{ECG_ALERT_EMAILS}" in text and "$__env{ECG_ALERT_WEBHOOK_URL}" in text
