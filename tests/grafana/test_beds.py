"""Beds and admissions: the table the ward wall pages through, the CLI that fills it, and the
rollup views' shape (both database modes)."""

from __future__ import annotations

from datetime import timedelta

import psycopg
import pytest

from ecgdash.timescale.admissions import AdmissionError, admissions, admit, discharge, wall_page
from tests.helpers.grafana_data import BEDS, DISCHARGED, T0


def test_wall_pages_in_natural_bed_order(grafana_db) -> None:
    """Admitted beds at T0, "Bed 2" before "Bed 10", paged; the discharged bed is gone."""
    with psycopg.connect(grafana_db.reader_dsn) as conn:
        pages = [wall_page(conn, n, 2, T0) for n in (1, 2, 3, 4)]
        assert [[b for _, b, _ in p] for p in pages] == [
            ["Bed 1", "Bed 2"], ["Bed 3", "Bed 4"], ["Bed 10"], []]
        assert [s for s, _, _ in pages[1]] == [1, 2]  # slots restart on every page
        before = wall_page(conn, 1, 16, T0 - timedelta(minutes=45))  # DISCHARGED still there
        assert DISCHARGED[0] in {b for _, b, _ in before}
        assert DISCHARGED[0] not in {b for _, b, _ in wall_page(conn, 1, 16, T0)}


def test_admit_and_discharge_rules(grafana_db) -> None:
    with psycopg.connect(grafana_db.admin_dsn) as conn:  # one transaction, rolled back
        with pytest.raises(AdmissionError, match="occupied by patient sinus-101"):
            admit(conn, BEDS["sinus-101"], "new-patient")
        with pytest.raises(AdmissionError, match="admitted in bed Bed 2"):
            admit(conn, "Bed 99", "sinus-106")
        with pytest.raises(AdmissionError, match="bad bed label"):
            admit(conn, "Bed; DROP", "p1")
        a = admit(conn, "Bed 99", "new-patient")
        assert a.bed == "Bed 99" and a.discharged_at is None
        assert discharge(conn, "new-patient").bed == "Bed 99"
        with pytest.raises(AdmissionError, match="no open admission"):
            discharge(conn, "Bed 99")
        assert [x.bed for x in admissions(conn)] == ["Bed 1", "Bed 2", "Bed 3", "Bed 4", "Bed 10"]
        conn.rollback()


def test_cli_admit_list_discharge(grafana_db, monkeypatch, capsys) -> None:
    """`ecgdash beds ...` in external mode (writer DSN for changes, reader DSN to list); times in
    2020, long before the test data, so the wall's pages at T0 are untouched."""
    from ecgdash.cli.main import main

    monkeypatch.setenv("ECG_DB_MODE", "external")
    monkeypatch.setenv("ECG_DB_WRITER_DSN", grafana_db.admin_dsn)
    monkeypatch.setenv("ECG_DB_READER_DSN", grafana_db.reader_dsn)
    assert main(["beds", "admit", "Bed 7", "cli-patient", "--at", "2020-01-01T00:00:00Z"]) == 0
    assert "admitted cli-patient to bed Bed 7" in capsys.readouterr().out
    assert main(["beds", "list"]) == 0
    assert "cli-patient" in capsys.readouterr().out
    assert main(["beds", "discharge", "Bed 7", "--at", "2020-01-02T00:00:00Z"]) == 0
    assert main(["beds", "discharge", "Bed 7"]) == 1
    assert "no open admission" in capsys.readouterr().err
    assert main(["beds", "list", "--all"]) == 0
    assert "2020-01-02" in capsys.readouterr().out


def test_rollup_views_take_the_range_down(reader, grafana_db) -> None:
    """hr_1m/hr_1h filtered by patient and time read only that range: no FULL JOIN (whose merged
    key PostgreSQL cannot push a filter through) in either mode."""
    for view in ("hr_1m", "hr_1h"):
        plan = "\n".join(r[0] for r in reader.execute(
            f"EXPLAIN SELECT * FROM {view} WHERE patient_id = 'sinus-101' AND bucket >= %s",
            (T0,)).fetchall())
        assert "Full Join" not in plan, plan
    rows = reader.execute("SELECT beats, hr_n, hr_mean, valid_s FROM hr_1m WHERE patient_id = "
                          "'sinus-101' AND bucket = %s", (T0 + timedelta(minutes=1),)).fetchall()
    assert len(rows) == 1 and rows[0][0] > 50 and 50 < rows[0][2] < 100 and rows[0][3] > 50


def test_demo_admits_its_patients(grafana_db) -> None:
    """The demo admits each replayed patient to a free bed, once: a second demo in the same home
    keeps the beds (its admissions are dated now, long after the test data's T0)."""
    from ecgdash.demo import admit_beds

    first = admit_beds(grafana_db.admin_dsn, ["demo-a", "demo-b"])
    assert first == {"demo-a": "Bed 01", "demo-b": "Bed 02"}  # "Bed 1".."Bed 4" are other labels
    assert admit_beds(grafana_db.admin_dsn, ["demo-b", "demo-a"]) == first
    with psycopg.connect(grafana_db.admin_dsn) as conn:
        for p in first:
            discharge(conn, p)
        conn.commit()
