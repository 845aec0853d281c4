"""The Kafka message encoding (version 1): a patient's metadata, ~1 s of all its leads, or the
source's expert annotations of those samples.

Key: the patient id (UTF-8). Value, little-endian::

    common  : magic b"EC" | version u8 (=1) | kind u8 (1 = samples, 2 = metadata,
              3 = annotations)
    samples : n_leads u8 | pad u8 | n_samples u16 | fs f64 (Hz) | start_us i64 | first_index i64
              | n_leads * n_samples int16 ADC units, lead-major | crc32 u32 of all bytes before
    metadata: UTF-8 JSON (record, fs, start_us, source_offset, signals[]) | crc32 u32
    annotations: UTF-8 JSON (source, fs, start_us, annotations: [[stream index, symbol,
              subtype, chan, num, aux_note], ...]) | crc32 u32

Annotations (a WFDB record's ``.atr``: beat symbols, rhythm changes in ``aux_note``) travel on
the patient's key right after the samples they label, on the same signal clock: annotation at
stream index ``i`` is at ``start_us + i * 1e6 / fs``. A decoder older than kind 3 dead-letters
them (``unknown message kind 3``) and keeps the samples.

A samples message of 2 leads x 360 samples is 32 + 1440 + 4 = 1476 bytes: 2.05 bytes/sample.
The time of sample i of the patient's stream is ``start_us + i * 1e6 / fs`` (signal clock).

``decode`` accepts only what every later stage can take, so that one message can never fail a
batch downstream: times within [1900, 2200) (Python datetimes, pandas' nanoseconds and
PostgreSQL's timestamptz all hold them), integers within their database columns' types, finite
numbers, text without NUL (PostgreSQL refuses it), a patient id matched in full (a trailing
newline is not an id), and metadata JSON of bounded size and nesting depth. Anything else is a
:class:`DecodeError` naming the field, which the jobs dead-letter.
"""

from __future__ import annotations

import json
import math
import re
import struct
import zlib
from dataclasses import dataclass, field

import numpy as np

from ecgdash.core.clock import CLOCK_MAX, CLOCK_MIN, datetime_to_us
from ecgdash.core.errors import DecodeError

MAGIC = b"EC"
VERSION = 1
KIND_SAMPLES = 1
KIND_META = 2
KIND_ANNOTATIONS = 3
_COMMON = struct.Struct("<2sBB")
_SAMPLES = struct.Struct("<2sBBBxHdqq")
_CRC = struct.Struct("<I")
MAX_LEADS = 32
MAX_CHUNK = 0xFFFF  # samples per lead in one message
MAX_FS_HZ = 100_000.0
# the signal clock's range: [1900-01-01, 2200-01-01) in epoch microseconds (core.clock's)
TIME_MIN_US = datetime_to_us(CLOCK_MIN)  # -2_208_988_800_000_000
TIME_MAX_US = datetime_to_us(CLOCK_MAX)  # 7_258_118_400_000_000
MAX_META_BYTES = 64 * 1024  # a 32-lead registration is ~4 kB
MAX_JSON_DEPTH = 4  # {"signals": [{...}]} is depth 3
MAX_TEXT = 256  # record, lead and unit names (characters)
INT32 = (-(2**31), 2**31 - 1)  # signals.baseline, signals.adc_zero
MAX_ADC_RES = 32  # bits (WFDB: 0 = unspecified)
MAX_GAIN = 1e9  # ADC units per physical unit
MAX_SOURCE_SAMPLES = 2**53  # exact in a double, far beyond any record
MAX_ANNOTATIONS = 2048  # per message (a 1-s chunk of MIT-BIH holds 1-3; 64 kB holds ~3,000)
INVALID_SAMPLE = -32768  # WFDB's "invalid sample" (format 16): a lead with no value at that instant


def samples_as_float(samples: np.ndarray) -> np.ndarray:
    """A chunk's ADC samples (leads x n) as the detectors read them: (n, leads) float64, with
    ``INVALID_SAMPLE`` as NaN (a missing sample, which the detector holds over and flags as a gap,
    not a spike of -32768 units)."""
    x = samples.T.astype(np.float64)
    x[samples.T == INVALID_SAMPLE] = np.nan
    return x
MAX_SYMBOL = 8  # WFDB symbols are 1-2 characters
ANN_SOURCE_RE = re.compile(r"[a-z0-9_]{1,16}")  # the annotator: a WFDB annotation file extension
_PATIENT_RE = re.compile(r"[A-Za-z0-9_.:-]{1,64}")  # used with fullmatch, as the database CHECK


@dataclass(frozen=True)
class SignalMeta:
    """One lead as WFDB describes it: physical mV = (adc - baseline) / gain."""

    lead: str
    gain: float  # ADC units per physical unit
    baseline: int  # ADC units
    adc_res: int  # bits
    adc_zero: int
    units: str = "mV"


@dataclass(frozen=True)
class PatientMeta:
    """Registration of one patient's stream: source record and its signals."""

    patient: str
    record: str
    fs: float  # Hz
    start_us: int  # epoch microseconds of stream sample 0
    source_offset: int  # stream sample 0 is record sample `source_offset` (samples)
    n_source_samples: int  # record length (samples); the stream loops over it
    signals: tuple[SignalMeta, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class SampleChunk:
    """About one second of all leads of one patient, in ADC units."""

    patient: str
    fs: float  # Hz
    start_us: int  # epoch microseconds of stream sample 0
    first_index: int  # stream index of samples[:, 0] (samples)
    samples: np.ndarray  # int16, shape (n_leads, n_samples)

    @property
    def n_leads(self) -> int:
        return int(self.samples.shape[0])

    @property
    def n_samples(self) -> int:
        return int(self.samples.shape[1])

    def time_us(self, index: int | None = None) -> int:
        """Epoch microseconds of stream sample `index` (default: this chunk's first)."""
        i = self.first_index if index is None else index
        return self.start_us + round(i * 1e6 / self.fs)


@dataclass(frozen=True)
class Annotation:
    """One expert annotation as WFDB stores it, at a stream sample index."""

    index: int  # stream index (samples)
    symbol: str  # WFDB symbol: N, V, A, ... ; '+' a rhythm change (aux_note names the rhythm)
    subtype: int = 0
    chan: int = 0
    num: int = 0
    aux_note: str = ""


@dataclass(frozen=True)
class AnnotationBatch:
    """The annotations of one patient's stream in the span of one samples message."""

    patient: str
    source: str  # the annotator, e.g. "atr"
    fs: float  # Hz
    start_us: int  # epoch microseconds of stream sample 0
    annotations: tuple[Annotation, ...]

    def time_us(self, index: int) -> int:
        """Epoch microseconds of stream sample `index` (the samples' own formula)."""
        return self.start_us + round(index * 1e6 / self.fs)


def _check_patient(patient: str) -> None:
    if not _PATIENT_RE.fullmatch(patient):
        raise DecodeError(f"bad patient id {patient!r}: 1-64 chars of A-Z a-z 0-9 _ . : -")


def _check_time(us: float, what: str) -> None:
    if not TIME_MIN_US <= us < TIME_MAX_US:
        raise DecodeError(f"{what} {us:.0f} us is outside the signal clock's range 1900-2200")


def encode_key(patient: str) -> bytes:
    _check_patient(patient)
    return patient.encode()


def encode_samples(chunk: SampleChunk) -> bytes:
    """Encode a chunk; raises ValueError for a chunk the format cannot carry: a shape beyond its
    limits, or values that are not 16-bit integers (a float or a wider integer array is refused,
    not wrapped: 40000 would have become -25536 and NaN 0)."""
    raw = np.asarray(chunk.samples)
    if raw.dtype != np.int16 and raw.size and not (
            np.issubdtype(raw.dtype, np.integer) and raw.min() >= -32768 and raw.max() <= 32767):
        raise ValueError(f"samples must be 16-bit integers (ADC units), got {raw.dtype} values "
                         f"{raw.min()}..{raw.max()}")
    s = np.ascontiguousarray(raw, dtype="<i2")
    if s.ndim != 2 or not 1 <= s.shape[0] <= MAX_LEADS or not 1 <= s.shape[1] <= MAX_CHUNK:
        raise ValueError(f"samples must be (1..{MAX_LEADS}, 1..{MAX_CHUNK}), got {s.shape}")
    head = _SAMPLES.pack(
        MAGIC, VERSION, KIND_SAMPLES, s.shape[0], s.shape[1], chunk.fs, chunk.start_us,
        chunk.first_index,
    )
    body = head + s.tobytes()
    return body + _CRC.pack(zlib.crc32(body))


def encode_meta(meta: PatientMeta) -> bytes:
    doc = {
        "record": meta.record,
        "fs": meta.fs,
        "start_us": meta.start_us,
        "source_offset": meta.source_offset,
        "n_source_samples": meta.n_source_samples,
        "signals": [s.__dict__ for s in meta.signals],
    }
    body = _COMMON.pack(MAGIC, VERSION, KIND_META) + json.dumps(doc).encode()
    return body + _CRC.pack(zlib.crc32(body))


def encode_annotations(batch: AnnotationBatch) -> bytes:
    doc = {
        "source": batch.source,
        "fs": batch.fs,
        "start_us": batch.start_us,
        "annotations": [[a.index, a.symbol, a.subtype, a.chan, a.num, a.aux_note]
                        for a in batch.annotations],
    }
    body = _COMMON.pack(MAGIC, VERSION, KIND_ANNOTATIONS) + json.dumps(doc).encode()
    return body + _CRC.pack(zlib.crc32(body))


Message = SampleChunk | PatientMeta | AnnotationBatch


def decode(key: bytes | None, value: bytes | None) -> Message:
    """Decode one message; raises DecodeError naming what is wrong.

    Every check below raises DecodeError itself; any other exception out of the checks (a case
    they missed) is turned into one naming it, so a message can only ever be dead-lettered: the
    jobs catch DecodeError per message, and anything else would fail the batch, and the same
    batch again after every restart."""
    try:
        return _decode(key, value)
    except DecodeError:
        raise
    except Exception as exc:  # noqa: BLE001 - see the docstring
        raise DecodeError(f"undecodable message ({type(exc).__name__}: {exc})"[:200]) from exc


def _decode(key: bytes | None, value: bytes | None) -> Message:
    if not key:
        raise DecodeError("missing key (patient id)")
    try:
        patient = bytes(key).decode()
    except UnicodeDecodeError as exc:
        raise DecodeError("key is not UTF-8") from exc
    _check_patient(patient)
    if value is None or len(value) < _COMMON.size + _CRC.size:
        raise DecodeError(f"value too short ({0 if value is None else len(value)} bytes)")
    value = bytes(value)
    magic, version, kind = _COMMON.unpack_from(value)
    if magic != MAGIC:
        raise DecodeError(f"bad magic {magic!r}")
    if version != VERSION:
        raise DecodeError(f"unsupported version {version}")
    (crc,) = _CRC.unpack_from(value, len(value) - _CRC.size)
    if zlib.crc32(value[: -_CRC.size]) != crc:
        raise DecodeError("checksum mismatch (corrupt message)")
    if kind == KIND_SAMPLES:
        return _decode_samples(patient, value)
    if kind == KIND_META:
        return _decode_meta(patient, value)
    if kind == KIND_ANNOTATIONS:
        return _decode_annotations(patient, value)
    raise DecodeError(f"unknown message kind {kind}")


def _decode_samples(patient: str, value: bytes) -> SampleChunk:
    if len(value) < _SAMPLES.size + _CRC.size:
        raise DecodeError(f"samples header truncated ({len(value)} bytes)")
    _, _, _, n_leads, n, fs, start_us, first = _SAMPLES.unpack_from(value)
    if not 1 <= n_leads <= MAX_LEADS:
        raise DecodeError(f"bad lead count {n_leads}")
    if n < 1:
        raise DecodeError("no samples")
    if not (math.isfinite(fs) and 0 < fs <= MAX_FS_HZ):
        raise DecodeError(f"bad sampling rate {fs!r} Hz")
    if first < 0:
        raise DecodeError(f"negative first sample index {first}")
    _check_time(start_us, "stream start")
    _check_time(start_us + first * 1e6 / fs, "chunk time")
    _check_time(start_us + (first + n) * 1e6 / fs, "chunk end")
    expected = _SAMPLES.size + 2 * n_leads * n + _CRC.size
    if len(value) != expected:
        raise DecodeError(f"length {len(value)} bytes, expected {expected} for {n_leads}x{n}")
    data = np.frombuffer(value, dtype="<i2", count=n_leads * n, offset=_SAMPLES.size)
    return SampleChunk(patient, fs, start_us, first, data.reshape(n_leads, n).astype(np.int16))


def _json_depth(text: bytes) -> int:
    """Nesting depth of JSON arrays and objects (strings skipped), without recursion."""
    depth = deepest = 0
    in_str = escaped = False
    for ch in text:
        if in_str:
            if escaped:
                escaped = False
            elif ch == 0x5C:  # backslash
                escaped = True
            elif ch == 0x22:  # quote
                in_str = False
        elif ch == 0x22:
            in_str = True
        elif ch in (0x5B, 0x7B):  # [ {
            depth += 1
            deepest = max(deepest, depth)
        elif ch in (0x5D, 0x7D):
            depth -= 1
    return deepest


def _int(doc: dict, name: str, lo: int, hi: int, what: str = "metadata") -> int:
    v = doc.get(name)
    if isinstance(v, bool) or not isinstance(v, int):
        raise DecodeError(f"bad {what}: {name} must be an integer, got {v!r}"[:200])
    if not lo <= v <= hi:
        raise DecodeError(f"bad {what}: {name} {v} outside [{lo}, {hi}]")
    return v


def _number(v: object) -> float | None:
    """A JSON number as a float, or None when it is not one (bool, text, ...) or no float holds it
    (an integer of hundreds of digits: ``float()`` raises OverflowError there)."""
    if isinstance(v, bool) or not isinstance(v, int | float):
        return None
    try:
        return float(v)
    except OverflowError:
        return None


def _float(doc: dict, name: str, lo: float, hi: float) -> float:
    v = doc.get(name)
    f = _number(v)
    if f is None:
        raise DecodeError(f"bad metadata: {name} must be a number of float range, got {v!r}"[:200])
    if not (math.isfinite(f) and lo <= f <= hi):
        raise DecodeError(f"bad metadata: {name} {v!r} outside [{lo:g}, {hi:g}] or not finite"[:200])
    return f


def _text(doc: dict, name: str, default: str | None = None, min_len: int = 1,
          what: str = "metadata") -> str:
    v = doc.get(name, default)
    if not isinstance(v, str) or not min_len <= len(v) <= MAX_TEXT or "\x00" in v:
        raise DecodeError(f"bad {what}: {name} must be {min_len}-{MAX_TEXT} characters "
                          f"without NUL, got {v!r}"[:200])
    try:
        v.encode("utf-8")  # JSON may escape a lone surrogate, which no database text can hold
    except UnicodeEncodeError as exc:
        raise DecodeError(f"bad {what}: {name} is not valid Unicode ({exc.reason})") from exc
    return v


def _json_doc(value: bytes, what: str) -> object:
    raw = value[_COMMON.size : -_CRC.size]
    if len(raw) > MAX_META_BYTES:
        raise DecodeError(f"bad {what}: {len(raw)} bytes, at most {MAX_META_BYTES}")
    if _json_depth(raw) > MAX_JSON_DEPTH:
        raise DecodeError(f"bad {what}: JSON nested deeper than {MAX_JSON_DEPTH}")
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise DecodeError(f"bad {what}: not JSON ({exc!s:.100})") from exc


def _fs(doc: dict, what: str) -> float:
    fs = doc.get("fs")
    f = _number(fs)
    if f is None or not (math.isfinite(f) and 0 < f <= MAX_FS_HZ):
        raise DecodeError(f"bad sampling rate {fs!r} Hz in {what}"[:200])
    return f


def _decode_meta(patient: str, value: bytes) -> PatientMeta:
    doc = _json_doc(value, "metadata")
    if not isinstance(doc, dict) or not isinstance(doc.get("signals"), list):
        raise DecodeError("bad metadata: an object with a signals list is expected")
    if not 1 <= len(doc["signals"]) <= MAX_LEADS:
        raise DecodeError(f"metadata has {len(doc['signals'])} signals, 1-{MAX_LEADS} allowed")
    signals = []
    for i, sig in enumerate(doc["signals"]):
        if not isinstance(sig, dict):
            raise DecodeError(f"bad metadata: signal {i} is not an object")
        gain = _float(sig, "gain", -MAX_GAIN, MAX_GAIN)
        if gain == 0:
            raise DecodeError(f"bad metadata: signal {i} has a zero gain")
        signals.append(SignalMeta(
            lead=_text(sig, "lead"), gain=gain, baseline=_int(sig, "baseline", *INT32),
            adc_res=_int(sig, "adc_res", 0, MAX_ADC_RES), adc_zero=_int(sig, "adc_zero", *INT32),
            units=_text(sig, "units", "mV", min_len=0),
        ))
    fs = _fs(doc, "metadata")
    start_us = _int(doc, "start_us", TIME_MIN_US, TIME_MAX_US - 1)
    return PatientMeta(
        patient=patient, record=_text(doc, "record"), fs=fs, start_us=start_us,
        source_offset=_int(doc, "source_offset", 0, MAX_SOURCE_SAMPLES),
        n_source_samples=_int(doc, "n_source_samples", 1, MAX_SOURCE_SAMPLES),
        signals=tuple(signals),
    )


_ANN_FIELDS = ("index", "symbol", "subtype", "chan", "num", "aux_note")


def _decode_annotations(patient: str, value: bytes) -> AnnotationBatch:
    doc = _json_doc(value, "annotations")
    if not isinstance(doc, dict) or not isinstance(doc.get("annotations"), list):
        raise DecodeError("bad annotations: an object with an annotations list is expected")
    items = doc["annotations"]
    if not 1 <= len(items) <= MAX_ANNOTATIONS:
        raise DecodeError(f"bad annotations: {len(items)} in one message, 1-{MAX_ANNOTATIONS} "
                          "allowed")
    source = doc.get("source")
    if not isinstance(source, str) or not ANN_SOURCE_RE.fullmatch(source):
        raise DecodeError(f"bad annotations: source {source!r} is not 1-16 of a-z 0-9 _"[:200])
    fs = _fs(doc, "annotations")
    start_us = _int(doc, "start_us", TIME_MIN_US, TIME_MAX_US - 1, "annotations")
    out = []
    for k, item in enumerate(items):
        if not isinstance(item, list) or len(item) != len(_ANN_FIELDS):
            raise DecodeError(f"bad annotations: item {k} is not a list of {len(_ANN_FIELDS)} "
                              f"({', '.join(_ANN_FIELDS)})")
        f = dict(zip(_ANN_FIELDS, item, strict=True))
        index = _int(f, "index", 0, MAX_SOURCE_SAMPLES, "annotations")
        _check_time(start_us + index * 1e6 / fs, f"annotation {k} time")
        symbol = _text(f, "symbol", what="annotations")
        if len(symbol) > MAX_SYMBOL or not symbol.isprintable():
            raise DecodeError(f"bad annotations: symbol {symbol!r} of item {k} is not 1-{MAX_SYMBOL} "
                              "printable characters"[:200])
        # WFDB's own ranges: subtype and num are signed bytes, chan an unsigned one
        out.append(Annotation(index, symbol, _int(f, "subtype", -128, 127, "annotations"),
                              _int(f, "chan", 0, 255, "annotations"),
                              _int(f, "num", -128, 127, "annotations"),
                              _text(f, "aux_note", min_len=0, what="annotations")))
    return AnnotationBatch(patient, source, fs, start_us, tuple(out))
