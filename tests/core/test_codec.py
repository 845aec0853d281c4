"""The message encoding: exact round trips, and every malformed input rejected with its reason."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest

from ecgdash.core.codec import (
    PatientMeta,
    SampleChunk,
    SignalMeta,
    decode,
    encode_key,
    encode_meta,
    encode_samples,
)
from ecgdash.core.errors import DecodeError

META = PatientMeta("p1", "101", 360.0, 1_700_000_000_000_000, 720, 650_000,
                   (SignalMeta("MLII", 200.0, 1024, 11, 1024), SignalMeta("V1", 200.0, 1024, 11, 1024)))


def chunk(n_leads: int = 2, n: int = 360, first: int = 0) -> SampleChunk:
    rng = np.random.default_rng(n * 7 + n_leads)
    s = rng.integers(-32768, 32768, size=(n_leads, n), dtype=np.int16)
    return SampleChunk("p1", 360.0, 1_700_000_000_000_000, first, s)


def resign(body: bytes) -> bytes:
    """Replace the trailing CRC so a test reaches the check it means to reach."""
    return body[:-4] + struct.pack("<I", zlib.crc32(body[:-4]))


@pytest.mark.parametrize("n_leads,n", [(1, 1), (2, 360), (12, 500), (32, 65535)])
def test_samples_round_trip_exact(n_leads: int, n: int) -> None:
    c = chunk(n_leads, n, first=123_456_789)
    d = decode(encode_key("p1"), encode_samples(c))
    assert isinstance(d, SampleChunk)
    assert d.samples.dtype == np.int16 and np.array_equal(d.samples, c.samples)
    assert (d.patient, d.fs, d.start_us, d.first_index) == ("p1", 360.0, c.start_us, 123_456_789)


def test_bytes_per_sample() -> None:
    """2 leads x 360 samples: 32 header + 1440 data + 4 CRC bytes = 2.05 bytes/sample."""
    assert len(encode_samples(chunk())) / 720 == pytest.approx(2.05)


def test_meta_round_trip() -> None:
    assert decode(b"p1", encode_meta(META)) == META


def test_sample_time_from_signal_clock() -> None:
    c = chunk(first=360)
    assert c.time_us() == c.start_us + 1_000_000
    assert c.time_us(361) == c.start_us + 1_000_000 + round(1e6 / 360)


GOOD = encode_samples(chunk())


@pytest.mark.parametrize(
    "key,value,reason",
    [
        (None, GOOD, "missing key"),
        (b"", GOOD, "missing key"),
        (b"\xff\xfe", GOOD, "not UTF-8"),
        (b"bad id!", GOOD, "bad patient id"),
        (b"p1", None, "too short"),
        (b"p1", b"EC\x01", "too short"),
        (b"p1", b"XX" + GOOD[2:], "bad magic"),
        (b"p1", resign(GOOD[:2] + b"\x09" + GOOD[3:]), "unsupported version"),
        (b"p1", resign(GOOD[:3] + b"\x07" + GOOD[4:]), "unknown message kind"),
        (b"p1", GOOD[:-5] + bytes([GOOD[-5] ^ 1]) + GOOD[-4:], "checksum"),
        (b"p1", resign(GOOD[:-200]), "length"),
        (b"p1", resign(GOOD[:4] + b"\x00" + GOOD[5:]), "bad lead count"),
        (b"p1", resign(GOOD[:4] + b"\x21" + GOOD[5:]), "bad lead count"),
        (b"p1", resign(GOOD[:6] + b"\x00\x00" + GOOD[8:]), "no samples"),
        (b"p1", resign(GOOD[:8] + struct.pack("<d", float("nan")) + GOOD[16:]), "sampling rate"),
        (b"p1", resign(GOOD[:8] + struct.pack("<d", -360.0) + GOOD[16:]), "sampling rate"),
        (b"p1", resign(GOOD[:24] + struct.pack("<q", -1) + GOOD[32:]), "negative first"),
        (b"p1", resign(GOOD[:20] + b"\x00\x00\x00\x00"), "truncated"),
        (b"p1", resign(b"EC\x01\x02{not json" + b"\0\0\0\0"), "bad metadata"),
        (b"p1", resign(encode_meta(META).replace(b'"gain": 200.0', b'"gain": 0.0', 1)), "gain"),
    ],
)
def test_malformed_rejected_with_reason(key: bytes | None, value: bytes | None, reason: str) -> None:
    with pytest.raises(DecodeError) as info:
        decode(key, value)
    assert reason in info.value.reason


def test_encoder_refuses_what_it_cannot_carry() -> None:
    with pytest.raises(ValueError):
        encode_samples(SampleChunk("p1", 360.0, 0, 0, np.zeros((0, 10), np.int16)))
    with pytest.raises(DecodeError):
        encode_key("has space")


def meta_with(**changes: object) -> bytes:
    """A metadata message with top-level fields (or signal 0's, prefix ``sig_``) changed,
    re-signed so that decoding reaches the field checks."""
    import json

    doc = json.loads(encode_meta(META)[4:-4])
    for k, v in changes.items():
        if k.startswith("sig_"):
            doc["signals"][0][k[4:]] = v
        else:
            doc[k] = v
    body = b"EC\x01\x02" + json.dumps(doc).encode()
    return body + struct.pack("<I", zlib.crc32(body))


def raw_meta(text: bytes) -> bytes:
    body = b"EC\x01\x02" + text
    return body + struct.pack("<I", zlib.crc32(body))


YEAR_10000_US = 253_402_300_800_000_000


@pytest.mark.parametrize(
    "key,value,reason",
    [
        # the classes a faulty producer sent past decode() before (issue 10), each by name
        (b"p1", raw_meta(b"[" * 100_000 + b"]" * 100_000), "bytes, at most"),
        (b"p1", raw_meta(b"[" * 5000 + b"]" * 5000), "nested deeper"),
        (b"p1", meta_with(sig_baseline=float("inf")), "baseline"),
        (b"p1", meta_with(sig_gain=float("inf")), "gain"),
        (b"p1", meta_with(fs=float("nan")), "fs"),
        (b"p1", meta_with(start_us=YEAR_10000_US), "start_us"),
        (b"p1", meta_with(n_source_samples=0), "n_source_samples"),
        (b"p1", meta_with(source_offset=-1), "source_offset"),
        (b"p1", meta_with(sig_adc_res=40000), "adc_res"),
        (b"p1", meta_with(sig_baseline=2**31), "baseline"),
        (b"p1", meta_with(sig_adc_zero=-(2**31) - 1), "adc_zero"),
        (b"p1", meta_with(sig_lead="V\x001"), "lead"),
        (b"p1", meta_with(record=""), "record"),
        (b"p1", meta_with(record="r" * 300), "record"),
        (b"p1", meta_with(sig_gain=True), "gain"),
        (b"p1", meta_with(signals=[]), "0 signals"),
        (b"p1", meta_with(signals={"a": 1}), "signals list"),
        (b"p1", raw_meta(b"[1, 2]"), "signals list"),
        (b"p1\n", GOOD, "bad patient id"),
        (b"p1\n", encode_meta(META), "bad patient id"),
        (b"p1", resign(GOOD[:16] + struct.pack("<q", YEAR_10000_US) + GOOD[24:]), "stream start"),
        (b"p1", resign(GOOD[:24] + struct.pack("<q", 2**62) + GOOD[32:]), "chunk time"),
        (b"p1", resign(GOOD[:8] + struct.pack("<d", 1e-300) + GOOD[16:]), "chunk"),
    ],
)
def test_decodable_but_extreme_rejected(key: bytes, value: bytes, reason: str) -> None:
    """Everything the database, the clock or the detector would refuse fails at decode time."""
    with pytest.raises(DecodeError) as info:
        decode(key, value)
    assert reason in info.value.reason, info.value.reason


def test_units_may_be_empty_and_default_to_mv() -> None:
    assert decode(b"p1", meta_with(sig_units="")).signals[0].units == ""
    import json

    doc = json.loads(encode_meta(META)[4:-4])
    del doc["signals"][0]["units"]
    body = b"EC\x01\x02" + json.dumps(doc).encode()
    meta = decode(b"p1", body + struct.pack("<I", zlib.crc32(body)))
    assert meta.signals[0].units == "mV"
