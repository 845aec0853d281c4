"""Expert annotations through the raw writer's write, on both modes: stored with the samples'
transaction on their signal clock, exactly once (a replayed batch, a producer's resend), an
unknown patient's labels dead-lettered; the readers."""

from __future__ import annotations

import uuid
from datetime import timedelta

import psycopg
import pytest

from ecgdash.core.clock import us_to_datetime
from ecgdash.core.codec import Annotation, AnnotationBatch
from ecgdash.timescale import annotations
from ecgdash.timescale.dead_letters import DeadLetter
from ecgdash.timescale.ledger import BatchKey
from ecgdash.timescale.waveform import Batch, write_batch
from tests.helpers import Db
from tests.timescale.test_waveform_write import START_US, batch, chunk, origin

pytestmark = pytest.mark.integration


def labels(patient: str, first: int) -> AnnotationBatch:
    return AnnotationBatch(patient, "atr", 360.0, START_US, (
        Annotation(first + 10, "+", aux_note="(AFIB"), Annotation(first + 10, "N"),
        Annotation(first + 200, "V", chan=1),
    ))


def test_stored_once_on_the_signal_clock(db: Db) -> None:
    p = f"ann-{uuid.uuid4().hex[:6]}"
    b = batch(p, [chunk(p, 0), chunk(p, 360)])
    b.labels = [(labels(p, 0), origin(90, p)), (labels(p, 360), origin(91, p))]
    key = BatchKey(f"q-{uuid.uuid4().hex[:8]}", "raw_writer", 0)
    with psycopg.connect(db.writer) as conn:
        res = write_batch(conn, key, b)
        assert res is not None and res.annotations == 6 and not res.dead
        assert write_batch(conn, key, b) is None  # the replayed batch id: skipped
        # the producer resent the same message in a later batch: stored once
        again = Batch(messages=1, labels=[(labels(p, 0), origin(92, p))], offsets={0: (92, 92)})
        res2 = write_batch(conn, BatchKey(key.query_id, "raw_writer", 1), again)
        assert res2 is not None and res2.annotations == 0
    t0 = us_to_datetime(START_US)
    with psycopg.connect(db.reader) as conn:
        got = annotations.between(conn, p, t0, t0 + timedelta(seconds=10))
        assert [(a.sample_index, a.symbol, a.aux_note, a.chan) for a in got] == [
            (10, "+", "(AFIB", 0), (10, "N", "", 0), (200, "V", "", 1),
            (370, "+", "(AFIB", 0), (370, "N", "", 0), (560, "V", "", 1)]
        assert got[2].time == t0 + timedelta(microseconds=round(200 * 1e6 / 360))
        assert annotations.rhythm_at(conn, p, t0 + timedelta(seconds=5), t0) == "(AFIB"
        assert annotations.rhythm_at(conn, p, t0, t0 - timedelta(hours=1)) == ""


def test_unknown_patient_dead_lettered(db: Db) -> None:
    p = f"ann-{uuid.uuid4().hex[:6]}"
    b = Batch(messages=1, labels=[(labels(p, 0), DeadLetter("ecg.test", 0, 5, p.encode(), b"v"))],
              offsets={0: (5, 5)})
    with psycopg.connect(db.writer) as conn:
        res = write_batch(conn, BatchKey(f"q-{uuid.uuid4().hex[:8]}", "raw_writer", 0), b)
    assert res is not None and res.annotations == 0
    assert [d.reason for d in res.dead] == [
        f"annotations of unknown patient {p!r}: no signal metadata registered"]
