"""The message encoding: exact round trips, and every malformed input rejected with its reason."""

from __future__ import annotations

import dataclasses
import json
import struct
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


# --- the wire format byte for byte, limits at their edges, exact reasons ------------------------
# (what the mutation bench, bench/mutation.py, showed untested: a change to any of these fails)

def test_samples_wire_format_golden() -> None:
    """The version-1 samples layout of the module docstring, written out by hand."""
    c = SampleChunk("p1", 360.0, 1, 2, np.array([[1, -2, 3], [256, -32768, 32767]], dtype=np.int16))
    body = bytes.fromhex(
        "4543" "01" "01"          # magic "EC", version 1, kind 1 (samples)
        "02" "00" "0300"          # 2 leads, pad, 3 samples (u16 LE)
        "0000000000807640"        # fs 360.0 (f64 LE)
        "0100000000000000"        # start_us 1 (i64 LE)
        "0200000000000000"        # first_index 2 (i64 LE)
        "0100" "feff" "0300"      # lead 0: 1, -2, 3 (int16 LE)
        "0001" "0080" "ff7f"      # lead 1: 256, -32768, 32767
    )
    assert encode_samples(c) == body + zlib.crc32(body).to_bytes(4, "little")


def test_meta_wire_format_golden() -> None:
    value = encode_meta(META)
    assert value[:4] == b"EC\x01\x02"  # magic, version 1, kind 2 (metadata)
    assert value[-4:] == zlib.crc32(value[:-4]).to_bytes(4, "little")
    assert json.loads(value[4:-4]) == {
        "record": "101", "fs": 360.0, "start_us": 1_700_000_000_000_000, "source_offset": 720,
        "n_source_samples": 650_000,
        "signals": [{"lead": "MLII", "gain": 200.0, "baseline": 1024, "adc_res": 11, "adc_zero": 1024,
                     "units": "mV"},
                    {"lead": "V1", "gain": 200.0, "baseline": 1024, "adc_res": 11, "adc_zero": 1024,
                     "units": "mV"}],
    }  # fmt: skip


def test_values_are_frozen_with_documented_defaults() -> None:
    sig = SignalMeta("II", 200.0, 0, 12, 0)
    assert sig.units == "mV"
    meta = PatientMeta("p", "r", 360.0, 0, 0, 1)
    assert meta.signals == ()
    c = chunk(3, 5)
    assert (c.n_leads, c.n_samples) == (3, 5)  # properties, not methods; rows are leads
    for value, name in ((sig, "gain"), (meta, "fs"), (c, "first_index")):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(value, name, 1)


@pytest.mark.parametrize("first", [0, 1, 10**12])
def test_first_index_range(first: int) -> None:
    d = decode(b"p1", encode_samples(chunk(1, 4, first=first)))
    assert isinstance(d, SampleChunk) and d.first_index == first


def test_first_index_beyond_the_signal_clock_is_refused() -> None:
    """2**62 samples after a 2023 start is past year 2200: no later stage could store it."""
    with pytest.raises(DecodeError) as info:
        decode(b"p1", encode_samples(chunk(1, 4, first=2**62)))
    assert info.value.reason.startswith("chunk time ")


@pytest.mark.parametrize("fs", [0.5, 1.0, 100_000.0])
def test_sampling_rates_at_the_edges_decode(fs: float) -> None:
    c = SampleChunk("p1", fs, 0, 0, np.zeros((1, 2), np.int16))
    assert decode(b"p1", encode_samples(c)).fs == fs
    meta = dataclasses.replace(META, fs=fs)
    assert decode(b"p1", encode_meta(meta)) == meta


@pytest.mark.parametrize("fs", [0.0, -1.0, 100_000.5, float("inf"), float("nan")])
def test_sampling_rates_out_of_range_are_refused(fs: float) -> None:
    c = SampleChunk("p1", fs, 0, 0, np.zeros((1, 2), np.int16))
    with pytest.raises(DecodeError) as info:
        decode(b"p1", encode_samples(c))
    assert info.value.reason == f"bad sampling rate {fs!r} Hz"
    with pytest.raises(DecodeError) as info:
        decode(b"p1", encode_meta(dataclasses.replace(META, fs=fs)))
    assert info.value.reason == f"bad sampling rate {fs!r} Hz in metadata"


@pytest.mark.parametrize("n_signals", [1, 32])
def test_metadata_lead_counts_that_decode(n_signals: int) -> None:
    meta = dataclasses.replace(META, signals=(META.signals[0],) * n_signals)
    assert decode(b"p1", encode_meta(meta)) == meta


@pytest.mark.parametrize("n_signals", [0, 33])
def test_metadata_lead_counts_refused(n_signals: int) -> None:
    meta = dataclasses.replace(META, signals=(META.signals[0],) * n_signals)
    with pytest.raises(DecodeError) as info:
        decode(b"p1", encode_meta(meta))
    assert info.value.reason == f"metadata has {n_signals} signals, 1-32 allowed"


@pytest.mark.parametrize("gain,reason", [
    (0.0, "bad metadata: signal 1 has a zero gain"),
    (float("nan"), "bad metadata: gain nan outside [-1e+09, 1e+09] or not finite"),
    (float("inf"), "bad metadata: gain inf outside [-1e+09, 1e+09] or not finite"),
])
def test_metadata_gain_refused(gain: float, reason: str) -> None:
    bad = dataclasses.replace(META.signals[1], gain=gain)
    meta = dataclasses.replace(META, signals=(META.signals[0], bad))
    with pytest.raises(DecodeError) as info:
        decode(b"p1", encode_meta(meta))
    assert info.value.reason == reason


@pytest.mark.parametrize(
    "samples",
    [np.zeros(10, np.int16), np.zeros((1, 2, 3), np.int16), np.zeros((0, 10), np.int16),
     np.zeros((33, 10), np.int16), np.zeros((1, 0), np.int16), np.zeros((1, 65536), np.int16)],
    ids=["1-d", "3-d", "no-leads", "33-leads", "no-samples", "65536-samples"],
)
def test_encoder_refuses_shapes_it_cannot_carry(samples: np.ndarray) -> None:
    with pytest.raises(ValueError) as info:
        encode_samples(SampleChunk("p1", 360.0, 0, 0, samples))
    assert str(info.value) == f"samples must be (1..32, 1..65535), got {samples.shape}"


@pytest.mark.parametrize("samples", [np.array([[40000, 0]], np.int32), np.array([[0.5, 1.0]]),
                                     np.array([[np.nan, 1.0]]), np.array([[-32769]], np.int64)])
def test_encoder_refuses_values_that_are_not_16_bit(samples: np.ndarray) -> None:
    """Values are not wrapped or rounded into int16 (40000 became -25536, NaN 0): refused."""
    with pytest.raises(ValueError, match="16-bit integers"):
        encode_samples(SampleChunk("p1", 360.0, 0, 0, samples))


def test_encoder_takes_wider_integers_that_fit() -> None:
    s = np.array([[-32768, 0, 32767]], np.int64)
    assert np.array_equal(decode(b"p1", encode_samples(SampleChunk("p1", 360.0, 0, 0, s))).samples, s)


def test_encode_key_is_the_utf8_patient_id() -> None:
    assert encode_key("bed-12_a.b:c") == b"bed-12_a.b:c"
    assert encode_key("x" * 64) == b"x" * 64


@pytest.mark.parametrize("patient", ["", "x" * 65, "has space", "ünï", "a/b"])
def test_bad_patient_ids_are_named(patient: str) -> None:
    with pytest.raises(DecodeError) as info:
        encode_key(patient)
    assert info.value.reason == f"bad patient id {patient!r}: 1-64 chars of A-Z a-z 0-9 _ . : -"
    with pytest.raises(DecodeError):
        decode(patient.encode(), GOOD)


def _meta_value(text: bytes) -> bytes:
    return resign(b"EC\x01\x02" + text + b"\0\0\0\0")


@pytest.mark.parametrize(
    "key,value,reason",
    [
        (None, GOOD, "missing key (patient id)"),
        (b"\xff\xfe", GOOD, "key is not UTF-8"),
        (b"p1", None, "value too short (0 bytes)"),
        (b"p1", b"EC\x01", "value too short (3 bytes)"),
        (b"p1", b"EC\x01\x02\0\0\0", "value too short (7 bytes)"),
        (b"p1", b"XX" + GOOD[2:], "bad magic b'XX'"),
        (b"p1", resign(GOOD[:2] + b"\x09" + GOOD[3:]), "unsupported version 9"),
        (b"p1", resign(GOOD[:3] + b"\x07" + GOOD[4:]), "unknown message kind 7"),
        (b"p1", GOOD[:-5] + bytes([GOOD[-5] ^ 1]) + GOOD[-4:], "checksum mismatch (corrupt message)"),
        (b"p1", resign(GOOD[:24] + b"\0\0\0\0"), "samples header truncated (28 bytes)"),
        (b"p1", resign(GOOD[:31] + b"\0\0\0\0"), "samples header truncated (35 bytes)"),
        (b"p1", resign(GOOD[:32] + b"\0\0\0\0"), "length 36 bytes, expected 1476 for 2x360"),
        (b"p1", resign(GOOD[:-200]), "length 1276 bytes, expected 1476 for 2x360"),
        (b"p1", resign(GOOD[:4] + b"\x00" + GOOD[5:]), "bad lead count 0"),
        (b"p1", resign(GOOD[:4] + b"\x21" + GOOD[5:]), "bad lead count 33"),
        (b"p1", resign(GOOD[:6] + b"\x00\x00" + GOOD[8:]), "no samples"),
        (b"p1", resign(GOOD[:24] + struct.pack("<q", -1) + GOOD[32:]), "negative first sample index -1"),
        (b"p1", _meta_value(b""), "bad metadata: not JSON (Expecting value: line 1 column 1 "
                                  "(char 0))"),
        (b"p1", _meta_value(b'{"record": "r"}'),
         "bad metadata: an object with a signals list is expected"),
    ],
)
def test_malformed_rejected_with_exact_reason(key: bytes | None, value: bytes | None, reason: str) -> None:
    with pytest.raises(DecodeError) as info:
        decode(key, value)
    assert info.value.reason == reason == str(info.value)


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
        (b"p1", meta_with(fs=float("nan")), "sampling rate nan"),
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
        # JSON integers no float holds (float() raises OverflowError): once a bare exception that
        # failed the batch, and the same batch after every restart
        (b"p1", meta_with(fs=10**400), "sampling rate"),
        (b"p1", meta_with(sig_gain=10**400), "gain"),
        (b"p1", meta_with(sig_gain=-(10**400)), "gain"),
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


# --- annotations (kind 3) -----------------------------------------------------------------------

from ecgdash.core.codec import Annotation, AnnotationBatch, encode_annotations  # noqa: E402

ANN = AnnotationBatch("p1", "atr", 360.0, 1_700_000_000_000_000, (
    Annotation(18, "N"), Annotation(0, "+", aux_note="(N"), Annotation(370, "V", 1, 2, -3, ""),
))


def _ann_value(doc: object) -> bytes:
    return resign(struct.pack("<2sBB", b"EC", 1, 3) + json.dumps(doc).encode() + b"\0\0\0\0")


def test_annotations_round_trip() -> None:
    got = decode(b"p1", encode_annotations(ANN))
    assert got == ANN
    assert got.time_us(360) == ANN.start_us + 1_000_000  # the samples' own clock


@pytest.mark.parametrize("change,reason", [
    ({"annotations": []}, "bad annotations: 0 in one message"),
    ({"source": "ATR"}, "bad annotations: source 'ATR'"),
    ({"fs": 0}, "bad sampling rate 0 Hz in annotations"),
    ({"start_us": 2**62}, "bad annotations: start_us"),
    ({"annotations": [[0, "N", 0, 0, 0]]}, "bad annotations: item 0 is not a list of 6"),
    ({"annotations": [[-1, "N", 0, 0, 0, ""]]}, "bad annotations: index -1 outside"),
    ({"annotations": [[0, "", 0, 0, 0, ""]]}, "bad annotations: symbol must be"),
    ({"annotations": [[0, "N\n", 0, 0, 0, ""]]}, "bad annotations: symbol 'N\\n'"),
    ({"annotations": [[0, "NNNNNNNNN", 0, 0, 0, ""]]}, "bad annotations: symbol 'NNNNNNNNN'"),
    ({"annotations": [[0, "N", 200, 0, 0, ""]]}, "bad annotations: subtype 200 outside"),
    ({"annotations": [[0, "N", 0, 256, 0, ""]]}, "bad annotations: chan 256 outside"),
    ({"annotations": [[0, "N", 0, 0, 0, "a\x00"]]}, "bad annotations: aux_note must be"),
    ({"annotations": [[10**15, "N", 0, 0, 0, ""]]}, "outside the signal clock's range"),
    ({"fs": 10**400}, "bad sampling rate"),
])
def test_annotations_rejected(change: dict, reason: str) -> None:
    doc = {"source": "atr", "fs": 360.0, "start_us": 1_700_000_000_000_000,
           "annotations": [[0, "N", 0, 0, 0, ""]], **change}
    with pytest.raises(DecodeError) as e:
        decode(b"p1", _ann_value(doc))
    assert e.value.reason.startswith(reason) or reason in e.value.reason, e.value.reason


def test_annotations_bounded() -> None:
    doc = {"source": "atr", "fs": 360.0, "start_us": 0,
           "annotations": [[i, "N", 0, 0, 0, ""] for i in range(2049)]}
    with pytest.raises(DecodeError, match="2049 in one message"):
        decode(b"p1", _ann_value(doc))


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.integers(min_value=10**300, max_value=10**500)
    | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=8,
)
_META_FIELDS = ["record", "fs", "start_us", "source_offset", "n_source_samples", "signals",
                "sig_lead", "sig_gain", "sig_baseline", "sig_adc_res", "sig_adc_zero", "sig_units"]
_ANN_FIELDS = ["source", "fs", "start_us", "annotations"]


@settings(max_examples=300, deadline=None)
@given(field=st.sampled_from(_META_FIELDS), value=_JSON)
def test_any_json_in_any_metadata_field_decodes_or_is_named(field: str, value: object) -> None:
    """Property: whatever JSON value a producer puts in any metadata field, decode() returns or
    raises DecodeError (a dead letter with its reason), never another exception."""
    try:
        decode(b"p1", meta_with(**{field: value}))
    except DecodeError as e:
        assert e.reason


@settings(max_examples=200, deadline=None)
@given(field=st.sampled_from(_ANN_FIELDS), value=_JSON, item=st.lists(_JSON, min_size=6, max_size=6))
def test_any_json_in_any_annotation_field_decodes_or_is_named(field: str, value: object, item: list) -> None:
    doc = {"source": "atr", "fs": 360.0, "start_us": 1_700_000_000_000_000, "annotations": [item]}
    doc[field] = value
    try:
        decode(b"p1", _ann_value(doc))
    except DecodeError as e:
        assert e.reason


def test_an_unforeseen_failure_inside_decode_is_still_a_decode_error(monkeypatch) -> None:
    """The backstop: a check that raises something else (a case the checks missed) still gives a
    DecodeError naming it, so the jobs dead-letter the message instead of failing the batch."""
    import ecgdash.core.codec as codec

    def broken(patient: str, value: bytes) -> None:
        raise OverflowError("int too large to convert to float")

    monkeypatch.setattr(codec, "_decode_meta", broken)
    with pytest.raises(DecodeError) as info:
        decode(b"p1", encode_meta(META))
    assert info.value.reason == "undecodable message (OverflowError: int too large to convert to float)"
