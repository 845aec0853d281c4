"""Pacing and patient planning of the replay, with a fake clock (no broker needed)."""

from __future__ import annotations

import numpy as np

from ecgdash.core.codec import PatientMeta, SampleChunk, decode
from ecgdash.ingest.records import read_record
from ecgdash.ingest.replay import plan_streams, replay
from tests.helpers import MITDB


class FakeClock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t

    def sleep(self, s: float) -> None:
        self.t += s


def test_paced_by_signal_clock_and_exact_samples() -> None:
    rec = read_record(MITDB / "101")
    streams = plan_streams([rec], 2, seconds=5, loop=False, start_us=0, offset_s=10)
    clock = FakeClock()
    sent: list[tuple[float, object]] = []
    replay(streams, lambda k, v: sent.append((clock.t, decode(k, v))), speed=2.0,
           clock=clock, sleep=clock.sleep)
    metas = [m for _, m in sent if isinstance(m, PatientMeta)]
    chunks = [(t, m) for t, m in sent if isinstance(m, SampleChunk)]
    assert [m.patient for m in metas] == ["101", "101.1"]
    assert metas[1].source_offset == 3600
    assert len(chunks) == 10  # 5 s each, 1 s chunks
    for t, c in chunks:
        # due when its last sample is recorded, at speed 2
        assert t - 100.0 == (c.first_index + 360) / 360 / 2
        offset = 0 if c.patient == "101" else 3600
        src = rec.adc[offset + c.first_index : offset + c.first_index + 360].T
        assert np.array_equal(c.samples, src)


def test_loops_over_the_record_end() -> None:
    rec = read_record(MITDB / "106")
    streams = plan_streams([rec], 1, seconds=rec.n_samples / 360 + 3, loop=True, start_us=0)
    chunks = []
    replay(streams, lambda k, v: chunks.append(decode(k, v)), speed=None)
    samples = np.concatenate([c.samples for c in chunks if isinstance(c, SampleChunk)], axis=1)
    assert samples.shape[1] == rec.n_samples + 3 * 360
    assert np.array_equal(samples[:, rec.n_samples :], rec.adc[: 3 * 360].T)


def test_no_loop_stops_at_record_end() -> None:
    rec = read_record(MITDB / "106")
    (s,) = plan_streams([rec], 1, seconds=10_000, loop=False, start_us=0)
    assert s.n_total == rec.n_samples
