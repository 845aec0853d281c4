"""The heart-rate writer and the rollups ``hr_1m`` / ``hr_1h``, by value, on both database modes.

Beats and quality windows go in as the heart-rate job writes them (``write_hr_batch``, two
batches that share a minute and an hour); every column of every rollup row is compared with
what Python computes from the same beats on its own. PostgreSQL mode: tables refreshed by
``refresh_hr_rollups`` in the writer's transaction. TimescaleDB: views over hierarchical
continuous aggregates, refreshed over the test's range first as the policies would (the test's
2019 data may lie below a watermark that an earlier refresh left).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import numpy as np
import psycopg
import pytest

from ecgdash.core.clock import datetime_to_us, us_to_datetime
from ecgdash.timescale.heart_rate import beat_span, beats_between, write_hr_batch
from ecgdash.timescale.ledger import BatchKey
from tests.helpers import Db

pytestmark = pytest.mark.integration
T0 = datetime(2019, 6, 3, 10, 57, 10, tzinfo=UTC)  # minutes 10:57 .. 11:02 across the hour
FS = 360  # Hz (the patient is not registered: quality windows are taken at the default 360 Hz)
SPLIT = datetime(2019, 6, 3, 11, 0, 30, tzinfo=UTC)  # batch 1 before, batch 2 from here on
AGGREGATES = ("hr_beats_1m", "quality_1m", "hr_beats_1h", "quality_1h")  # refresh order


def _rows(patient: str) -> list[dict]:
    """Beats from 10:57:10 to ~11:01:40 at an irregular rhythm (the first without HR), and 1-s
    quality windows from 10:58:00 to 11:02:59, every 7th invalid (10:57 has beats but no
    quality, 11:02 quality but no beats)."""
    rng = np.random.default_rng(119)
    rows, t_us, index = [], datetime_to_us(T0), 0
    end_us = datetime_to_us(T0 + timedelta(minutes=4, seconds=30))
    first = True
    while t_us < end_us:
        rr = float(rng.choice([430.0, 610.0, 820.0, 1250.0]) + rng.integers(0, 40))
        rows.append({"kind": "beat", "patient_id": patient, "stream_index": index, "time_us": t_us,
                     "rr_ms": None if first else rr, "hr_bpm": None if first else 60000 / rr,
                     "leads": "MLII,V1", "quality": 0.9, "length": None, "valid": None,
                     "flags": None})  # fmt: skip
        first = False
        index += round(rr * FS / 1000)
        t_us += round(rr * 1000)
    q0 = datetime_to_us(datetime(2019, 6, 3, 10, 58, tzinfo=UTC))
    for k in range(5 * 60):
        rows.append({"kind": "quality", "patient_id": patient, "stream_index": k * FS,
                     "time_us": q0 + k * 1_000_000, "rr_ms": None, "hr_bpm": None, "leads": "",
                     "quality": 0.2 if k % 7 == 0 else 0.95, "length": FS if k % 5 else FS // 2,
                     "valid": k % 7 != 0, "flags": "noisy" if k % 7 == 0 else ""})  # fmt: skip
    return rows


def _expected(rows: list[dict], unit: str) -> dict[datetime, tuple]:
    """(beats, hr_sum, hr_n, hr_mean, hr_min, hr_max, valid_s) per bucket, from the rows alone."""
    hrs: dict[datetime, list[float]] = defaultdict(list)
    beats: dict[datetime, int] = defaultdict(int)
    valid: dict[datetime, float] = defaultdict(float)
    buckets = set()
    for r in rows:
        t = us_to_datetime(r["time_us"])
        b = t.replace(second=0, microsecond=0) if unit == "minute" else t.replace(
            minute=0, second=0, microsecond=0)
        buckets.add(b)
        if r["kind"] == "beat":
            beats[b] += 1
            if r["hr_bpm"] is not None:
                hrs[b].append(float(np.float32(r["hr_bpm"])))  # stored as real
        elif r["valid"]:
            valid[b] += r["length"] / FS
    out = {}
    for b in sorted(buckets):
        h = hrs[b]
        out[b] = (beats[b], sum(h) if h else None, len(h), sum(h) / len(h) if h else None,
                  min(h) if h else None, max(h) if h else None, valid[b])
    return out


def _stored(conn: psycopg.Connection, view: str, patient: str) -> dict[datetime, tuple]:
    q = {"hr_1m": "SELECT bucket, beats, hr_sum, hr_n, hr_mean, hr_min, hr_max, valid_s FROM hr_1m "
                  "WHERE patient_id = %s ORDER BY bucket",
         "hr_1h": "SELECT bucket, beats, hr_sum, hr_n, hr_mean, hr_min, hr_max, valid_s FROM hr_1h "
                  "WHERE patient_id = %s ORDER BY bucket"}[view]  # fmt: skip
    return {r[0]: tuple(r[1:]) for r in conn.execute(q, (patient,)).fetchall()}


def _assert_rollup(got: dict[datetime, tuple], want: dict[datetime, tuple]) -> None:
    assert list(got) == list(want)
    for bucket, w in want.items():
        g = got[bucket]
        assert (g[0], g[2]) == (w[0], w[2]), bucket  # beats, hr_n: exact
        for name, gv, wv in zip(("hr_sum", "hr_mean", "hr_min", "hr_max", "valid_s"),
                                g[1:2] + g[3:], w[1:2] + w[3:], strict=True):
            if wv is None:
                assert gv is None, (bucket, name)
            else:
                assert gv == pytest.approx(wv, rel=1e-5), (bucket, name)


def _refresh_aggregates(db: Db) -> None:
    if db.mode != "timescale":
        return
    with psycopg.connect(db.admin, autocommit=True) as conn:
        for cagg in AGGREGATES:
            conn.execute("CALL refresh_continuous_aggregate(%s, %s, %s)",
                         (cagg, datetime(2019, 6, 3, 9, tzinfo=UTC), datetime(2019, 6, 3, 13, tzinfo=UTC)))


def test_rollups_are_the_beats_own_figures(db: Db) -> None:
    patient = f"roll-{uuid.uuid4().hex[:6]}"
    rows = _rows(patient)
    first = [r for r in rows if us_to_datetime(r["time_us"]) < SPLIT]
    second = [r for r in rows if us_to_datetime(r["time_us"]) >= SPLIT]
    with psycopg.connect(db.writer) as conn:
        assert write_hr_batch(conn, BatchKey(f"roll-{patient}", "hr_job", 0), first)
        assert write_hr_batch(conn, BatchKey(f"roll-{patient}", "hr_job", 1), second)
        # a replayed batch is skipped and changes nothing
        assert not write_hr_batch(conn, BatchKey(f"roll-{patient}", "hr_job", 1), second)
    _refresh_aggregates(db)

    want_1m, want_1h = _expected(rows, "minute"), _expected(rows, "hour")
    # the shape the assertions rely on: a minute and an hour written by both batches, a minute
    # without quality and one without beats, two hours with several minutes of differing HR
    assert len(want_1m) == 6 and len(want_1h) == 2
    assert want_1m[datetime(2019, 6, 3, 10, 57, tzinfo=UTC)][6] == 0
    assert want_1m[datetime(2019, 6, 3, 11, 2, tzinfo=UTC)][:3] == (0, None, 0)
    with psycopg.connect(db.reader) as conn:
        _assert_rollup(_stored(conn, "hr_1m", patient), want_1m)
        _assert_rollup(_stored(conn, "hr_1h", patient), want_1h)
        # and the readers of beats give back what went in
        n_beats = sum(1 for r in rows if r["kind"] == "beat")
        t_end = T0 + timedelta(minutes=10)
        assert beat_span(conn, patient, T0, t_end) == (n_beats, 0, rows[n_beats - 1]["stream_index"])
        stored = beats_between(conn, patient, T0, t_end)
        assert [b.sample_index for b in stored] == [r["stream_index"] for r in rows[:n_beats]]
        assert stored[0].hr_bpm is None and stored[1].hr_bpm == pytest.approx(rows[1]["hr_bpm"], rel=1e-6)
        assert beat_span(conn, patient, t_end, t_end + timedelta(hours=1)) == (0, None, None)
