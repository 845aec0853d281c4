"""The Kafka message encoding (version 1): one patient's metadata, or ~1 s of all its leads.

Key: the patient id (UTF-8). Value, little-endian::

    common  : magic b"EC" | version u8 (=1) | kind u8 (1 = samples, 2 = metadata)
    samples : n_leads u8 | pad u8 | n_samples u16 | fs f64 (Hz) | start_us i64 | first_index i64
              | n_leads * n_samples int16 ADC units, lead-major | crc32 u32 of all bytes before
    metadata: UTF-8 JSON (record, fs, start_us, source_offset, signals[]) | crc32 u32

A samples message of 2 leads x 360 samples is 32 + 1440 + 4 = 1476 bytes: 2.05 bytes/sample.
The time of sample i of the patient's stream is ``start_us + i * 1e6 / fs`` (signal clock).
"""

from __future__ import annotations

import json
import math
import re
import struct
import zlib
from dataclasses import dataclass, field

import numpy as np

from ecgdash.core.errors import DecodeError

MAGIC = b"EC"
VERSION = 1
KIND_SAMPLES = 1
KIND_META = 2
_COMMON = struct.Struct("<2sBB")
_SAMPLES = struct.Struct("<2sBBBxHdqq")
_CRC = struct.Struct("<I")
MAX_LEADS = 32
MAX_FS_HZ = 100_000.0
_PATIENT_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


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


def _check_patient(patient: str) -> None:
    if not _PATIENT_RE.match(patient):
        raise DecodeError(f"bad patient id {patient!r}: 1-64 chars of A-Z a-z 0-9 _ . : -")


def encode_key(patient: str) -> bytes:
    _check_patient(patient)
    return patient.encode()


def encode_samples(chunk: SampleChunk) -> bytes:
    """Encode a chunk; raises ValueError for a chunk the format cannot carry."""
    s = np.ascontiguousarray(chunk.samples, dtype="<i2")
    if s.ndim != 2 or not 1 <= s.shape[0] <= MAX_LEADS or not 1 <= s.shape[1] <= 0xFFFF:
        raise ValueError(f"samples must be (1..{MAX_LEADS}, 1..65535), got {s.shape}")
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


def decode(key: bytes | None, value: bytes | None) -> SampleChunk | PatientMeta:
    """Decode one message; raises DecodeError naming what is wrong."""
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
    expected = _SAMPLES.size + 2 * n_leads * n + _CRC.size
    if len(value) != expected:
        raise DecodeError(f"length {len(value)} bytes, expected {expected} for {n_leads}x{n}")
    data = np.frombuffer(value, dtype="<i2", count=n_leads * n, offset=_SAMPLES.size)
    return SampleChunk(patient, fs, start_us, first, data.reshape(n_leads, n).astype(np.int16))


def _decode_meta(patient: str, value: bytes) -> PatientMeta:
    try:
        doc = json.loads(value[_COMMON.size : -_CRC.size])
        signals = tuple(
            SignalMeta(
                lead=str(s["lead"]), gain=float(s["gain"]), baseline=int(s["baseline"]),
                adc_res=int(s["adc_res"]), adc_zero=int(s["adc_zero"]), units=str(s["units"]),
            )
            for s in doc["signals"]
        )
        meta = PatientMeta(
            patient=patient, record=str(doc["record"]), fs=float(doc["fs"]),
            start_us=int(doc["start_us"]), source_offset=int(doc["source_offset"]),
            n_source_samples=int(doc["n_source_samples"]), signals=signals,
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise DecodeError(f"bad metadata: {exc!r}") from exc
    if not signals or len(signals) > MAX_LEADS:
        raise DecodeError(f"metadata has {len(signals)} signals")
    if not (math.isfinite(meta.fs) and 0 < meta.fs <= MAX_FS_HZ):
        raise DecodeError(f"bad sampling rate {meta.fs!r} Hz in metadata")
    if any(not math.isfinite(s.gain) or s.gain == 0 for s in signals):
        raise DecodeError("metadata has a zero or non-finite gain")
    return meta
