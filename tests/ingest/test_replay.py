"""Pacing and patient planning of the replay, with a fake clock (no broker needed)."""

from __future__ import annotations

import numpy as np
import pytest

from ecgdash.core.codec import PatientMeta, SampleChunk, decode
from ecgdash.core.errors import ConfigError
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


def test_annotations_follow_their_chunk_on_the_signal_clock() -> None:
    """Every reference annotation of record 106 (read from its .atr) is sent once per pass,
    right after the samples it labels, at stream index = record sample - offset (mod length),
    including across the loop over the record's end."""
    from ecgdash.core.codec import AnnotationBatch

    rec = read_record(MITDB / "106")
    assert len(rec.annotations) > 2000 and {"N", "V", "+"} <= {a.symbol for a in rec.annotations}
    offset_s = 600
    streams = plan_streams([rec], 2, seconds=rec.n_samples / 360 + 60, loop=True, start_us=0,
                           offset_s=offset_s)
    sent = []
    stats = replay(streams[1:], lambda k, v: sent.append(decode(k, v)), speed=None)
    last_chunk = None
    got = []
    for m in sent:
        if isinstance(m, SampleChunk):
            last_chunk = m
        elif isinstance(m, AnnotationBatch):
            assert last_chunk is not None and m.patient == last_chunk.patient
            for a in m.annotations:  # labels only the samples just sent
                assert last_chunk.first_index <= a.index < last_chunk.first_index + last_chunk.n_samples
            got += m.annotations
    assert stats.annotations == len(got)
    off = offset_s * 360
    one_pass = [a for a in got if a.index < rec.n_samples]
    want = sorted(((a.index - off) % rec.n_samples, a.symbol, a.aux_note) for a in rec.annotations)
    assert sorted((a.index, a.symbol, a.aux_note) for a in one_pass) == want
    # the loop: the first minute of the stream comes again, labels and all
    again = [(a.index - rec.n_samples, a.symbol) for a in got if a.index >= rec.n_samples]
    assert again == [(a.index, a.symbol) for a in one_pass if a.index < 60 * 360 - 0]


@pytest.mark.parametrize(
    "names,n,clash",
    [
        ({"101": "bed-1", "119": "bed-1"}, 2, "'bed-1'"),  # two records mapped to one patient
        ({"101": "P", "119": "P.1"}, 4, "'P.1'"),  # a copy's id another record has
        (None, 2, "'101'"),  # two records of one name (RECORDS listing a/101 and b/101)
    ],
    ids=["mapped-to-one-id", "copy-suffix-clash", "same-record-name"],
)
def test_two_streams_under_one_patient_id_are_refused(names: dict | None, n: int, clash: str) -> None:
    """Two streams under one key interleave: one record's samples were dropped as conflicts and the
    rest stored in the other's calibration (adversarial review). Refused before anything is sent."""
    a = read_record(MITDB / "101")
    b = a if names is None else read_record(MITDB / "119")
    with pytest.raises(ConfigError, match=f"patient id {clash} would carry two streams"):
        plan_streams([a, b], n, seconds=5, loop=False, start_us=0, names=names)
    ok = plan_streams([a, read_record(MITDB / "119")], 4, seconds=5, loop=False, start_us=0)
    assert [s.patient for s in ok] == ["101", "119", "101.1", "119.1"]


def test_a_densely_labelled_second_is_split_into_messages_that_decode(tmp_path) -> None:
    """A label on every sample with 200-character aux notes: one second's labels were one message
    of 81 kB, over the decoder's 64 kB, dead-lettered with every label of that second (adversarial
    review). Split into messages the decoder takes, every label kept, in order."""
    import wfdb

    from ecgdash.core.codec import encode_annotations, encode_key
    from ecgdash.ingest.replay import fitting_messages

    sig = np.random.default_rng(1).integers(-1000, 1000, (3600, 2))
    wfdb.wrsamp("many", fs=360, units=["mV"] * 2, sig_name=["a", "b"], d_signal=sig, fmt=["16"] * 2,
                adc_gain=[200.0] * 2, baseline=[0] * 2, write_dir=str(tmp_path))  # fmt: skip
    wfdb.wrann("many", "atr", np.arange(3600), symbol=["+"] * 3600, aux_note=["(" + "Z" * 200] * 3600,
               write_dir=str(tmp_path))  # fmt: skip
    rec = read_record(tmp_path / "many")
    (s,) = plan_streams([rec], 1, seconds=10, loop=False, start_us=0)
    got = []
    while s.next_index < s.n_total:
        labels = s.annotations_of(s.take())
        assert labels is not None and len(labels.annotations) == 360
        parts = fitting_messages(labels)
        assert len(parts) > 1
        for part, value in parts:
            assert value == encode_annotations(part)
            got += decode(encode_key(s.patient), value).annotations
    assert [a.index for a in got] == list(range(3600))
    assert all(a.aux_note == "(" + "Z" * 200 for a in got)
