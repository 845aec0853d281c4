"""`ecgdash alarms limits|list|ack|watch` against a real database (external mode), exit codes."""

from __future__ import annotations

import uuid

import psycopg
import pytest

from ecgdash.cli.main import main
from ecgdash.timescale.alarms import write_alarm_batch
from ecgdash.timescale.ledger import BatchKey
from tests.helpers import Db

pytestmark = pytest.mark.integration


@pytest.fixture
def env(pg_native: Db, monkeypatch: pytest.MonkeyPatch) -> Db:
    for k, v in {"ECG_DB_MODE": "external", "ECG_DB_ADMIN_DSN": pg_native.admin,
                 "ECG_DB_WRITER_DSN": pg_native.writer, "ECG_DB_READER_DSN": pg_native.reader,
                 "ECG_KAFKA_BOOTSTRAP": "127.0.0.1:9"}.items():
        monkeypatch.setenv(k, v)
    return pg_native


def test_limits_list_ack(env: Db, capsys: pytest.CaptureFixture[str]) -> None:
    tag = uuid.uuid4().hex[:6]
    p = f"bed3-{tag}"
    assert main(["alarms", "limits", p]) == 0
    assert "bradycardia high < 40" in capsys.readouterr().out
    assert main(["alarms", "limits", p, "--tachy-medium", "110", "--by", "dr-a"]) == 0
    assert "medium > 110" in capsys.readouterr().out
    assert main(["alarms", "limits", p, "--brady-high", "70"]) == 1, "an impossible order"
    assert "limits must satisfy" in capsys.readouterr().err
    with psycopg.connect(env.writer, prepare_threshold=None) as conn:
        write_alarm_batch(conn, BatchKey(f"cli-{tag}", "alarm_job", 0), [
            {"patient_id": p, "kind": "asystole", "priority": "high", "action": "raise",
             "onset_us": 1_700_000_000_000_000, "at_us": 1_700_000_004_000_000, "value": 4.2,
             "message": "asystole: no beat for 4.2 s"}])
    assert main(["alarms", "list"]) == 0
    out = capsys.readouterr().out
    assert p in out and "asystole" in out and "high" in out
    assert main(["alarms", "ack", "--patient", p, "--by", "nurse-3"]) == 0
    assert "acknowledged 1" in capsys.readouterr().out
    assert main(["alarms", "ack", "--patient", p]) == 1, "nothing left to acknowledge"
    assert main(["alarms", "ack"]) == 1, "names neither an id nor a patient"


def test_watch_once(env: Db, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["alarms", "watch", "--once", "--job", "alarm_job=15"]) == 0
    assert main(["alarms", "watch", "--once", "--job", "alarm_job"]) == 1


def test_watch_defaults_follow_who_stores_the_beats(monkeypatch: pytest.MonkeyPatch) -> None:
    """The heart-rate job is watched only when it runs (ECG_ALARM_WRITES_BEATS=false): a
    deployment where the alarm job stores the beats never starts it, and a job that never ran
    is not reported stalled, but one that ran earlier would be, falsely."""
    from ecgdash.cli.alarms import default_watched_jobs
    from ecgdash.settings import Settings

    monkeypatch.delenv("ECG_ALARM_WRITES_BEATS", raising=False)
    assert set(default_watched_jobs(Settings())) == {"alarm_job", "raw_writer"}
    monkeypatch.setenv("ECG_ALARM_WRITES_BEATS", "false")
    monkeypatch.setenv("ECG_HR_TRIGGER_S", "120")
    assert default_watched_jobs(Settings()) == {"alarm_job": 15.0, "raw_writer": 15.0,
                                                "hr_job": 360.0}
