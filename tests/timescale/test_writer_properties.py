"""Property-based: whatever a producer sends, the raw writer's path never fails a batch.

Hypothesis generates registrations and sample chunks at the edges of what the encoding can carry
(times at the ends of the signal clock, any sampling rate, extreme gains and ADC settings, any
Unicode in names, first indices far out), encodes them as a producer would, decodes them as the
writer does, and writes what decodes through ``write_batch`` on both database modes. Every
message must end stored (and read back bit-exact) or dead-lettered with a reason; nothing raises.
"""

from __future__ import annotations

import contextlib
import uuid

import numpy as np
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecgdash.core import codec
from ecgdash.core.codec import PatientMeta, SampleChunk, SignalMeta
from ecgdash.core.errors import DecodeError
from ecgdash.timescale.dead_letters import DeadLetter
from ecgdash.timescale.ledger import BatchKey
from ecgdash.timescale.waveform import Batch, write_batch
from tests.helpers import Db

pytestmark = pytest.mark.integration

text = st.text(min_size=0, max_size=300)
int32 = st.integers(-(2**31) - 2, 2**31 + 1)
times = st.one_of(st.integers(codec.TIME_MIN_US - 10, codec.TIME_MIN_US + 10**12),
                  st.integers(codec.TIME_MAX_US - 10**12, codec.TIME_MAX_US + 10),
                  st.integers(0, 2_000_000_000_000_000))
rates = st.one_of(st.floats(1e-3, codec.MAX_FS_HZ, allow_nan=False),
                  st.sampled_from([0.5, 10.0, 360.0, 1000.0]))


@st.composite
def stream(draw):
    n_leads = draw(st.integers(1, 3))
    signals = tuple(
        SignalMeta(draw(text), draw(st.floats(-2e9, 2e9, allow_nan=False)), draw(int32),
                   draw(st.integers(-1, 40)), draw(int32), draw(text))
        for _ in range(n_leads)
    )
    fs = draw(rates)
    start = draw(times)
    meta = PatientMeta("x", draw(text), fs, start, draw(st.integers(-1, 2**60)),
                       draw(st.integers(-1, 2**60)), signals)
    chunks = []
    for _ in range(draw(st.integers(1, 3))):
        n = draw(st.integers(1, 40))
        first = draw(st.one_of(st.integers(0, 10**6), st.integers(0, 2**62)))
        samples = np.array(draw(st.lists(st.integers(-32768, 32767), min_size=n * n_leads,
                                         max_size=n * n_leads)), dtype=np.int16).reshape(n_leads, n)
        chunks.append(SampleChunk("x", fs, start, first, samples))
    return meta, chunks


def _decode_all(patient: str, meta: PatientMeta, chunks: list[SampleChunk]) -> Batch:
    """As the raw writer does: encode (the producer), decode, dead-letter what fails."""
    b = Batch()
    msgs = []
    with contextlib.suppress(ValueError, TypeError):  # the producer could not encode it: not sent
        msgs.append(codec.encode_meta(PatientMeta(patient, *list(meta.__dict__.values())[1:])))
    for c in chunks:
        msgs.append(codec.encode_samples(
            SampleChunk(patient, c.fs, c.start_us, c.first_index, c.samples)))
    for off, value in enumerate(msgs):
        origin = DeadLetter("prop", 0, off, patient.encode(), value)
        try:
            m = codec.decode(patient.encode(), value)
        except DecodeError as exc:
            b.dead.append(origin.with_reason(exc.reason))
            continue
        (b.metas if isinstance(m, PatientMeta) else b.chunks).append((m, origin))
    b.messages = len(msgs)
    b.offsets = {0: (0, max(len(msgs) - 1, 0))}
    return b


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(data=stream())
def test_any_message_is_stored_or_dead_lettered(db: Db, data) -> None:
    meta, chunks = data
    patient = f"prop-{uuid.uuid4().hex[:12]}"
    b = _decode_all(patient, meta, chunks)
    with psycopg.connect(db.writer) as conn:
        res = write_batch(conn, BatchKey(f"prop-{uuid.uuid4().hex}", "raw_writer", 0), b)
    assert res is not None  # never raises, never a replay
    assert all(d.reason for d in res.dead)
    dead = {d.offset for d in res.dead}
    kept = [c for c, o in b.chunks if o.offset not in dead]
    assert res.chunks == len(kept)
    with psycopg.connect(db.reader) as conn:
        rows = conn.execute("SELECT signal_index, sample_index, samples FROM waveform "
                            "WHERE patient_id = %s", (patient,)).fetchall()
    got = {(s, i): v for s, i, v in rows}
    first_of = {}
    for c in kept:  # the first message for a key wins; the stored samples are its, bit-exact
        for lead in range(c.n_leads):
            first_of.setdefault((lead, c.first_index), c.samples[lead].tolist())
    assert got == first_of


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=0, max_size=2000), st.binary(min_size=0, max_size=80))
def test_decode_never_raises_anything_but_decode_error(value: bytes, key: bytes) -> None:
    with contextlib.suppress(DecodeError):
        codec.decode(key, value)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_bit_flipped_messages_decode_or_fail_cleanly(data) -> None:
    """Corruptions of valid messages, re-signed so they pass the checksum: DecodeError or a value."""
    import struct
    import zlib

    meta = PatientMeta("p", "101", 360.0, 1_700_000_000_000_000, 0, 650_000,
                       (SignalMeta("MLII", 200.0, 1024, 11, 1024),))
    good = data.draw(st.sampled_from([
        codec.encode_meta(meta),
        codec.encode_samples(SampleChunk("p", 360.0, 1_700_000_000_000_000, 0,
                                         np.zeros((1, 36), np.int16))),
    ]))
    body = bytearray(good[:-4])
    for _ in range(data.draw(st.integers(1, 8))):
        i = data.draw(st.integers(0, len(body) - 1))
        body[i] = data.draw(st.integers(0, 255))
    value = bytes(body) + struct.pack("<I", zlib.crc32(bytes(body)))
    with contextlib.suppress(DecodeError):
        codec.decode(b"p", value)
