"""Read WFDB records, from a local folder or from S3 (boto3), into ADC-unit arrays, with the
record's expert annotations (``<record>.atr``) when it has them.

A record that cannot be read whole raises RecordError naming it; nothing of it is used. An
annotation file that is present but unreadable is an error too (labels silently dropped would
look like a record without labels).
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import wfdb

from ecgdash.core.codec import (
    ANN_SOURCE_RE,
    INVALID_SAMPLE,
    MAX_LEADS,
    Annotation,
    AnnotationBatch,
    PatientMeta,
    SignalMeta,
    decode,
    encode_annotations,
    encode_meta,
)
from ecgdash.core.errors import DecodeError, RecordError

# bytes per sample of each WFDB storage format (a .dat shorter than this promises is truncated)
_BYTES_PER_SAMPLE = {"8": 1, "16": 2, "61": 2, "80": 1, "160": 2, "212": 1.5, "24": 3, "32": 4,
                     "310": 4 / 3, "311": 4 / 3}


ANNOTATOR = "atr"  # the extension of the reference annotation file (MIT-BIH, PhysioNet)


@dataclass(frozen=True)
class Recording:
    """One record in ADC units: `adc` is int16 of shape (n_samples, n_leads)."""

    name: str
    fs: float  # Hz
    base_time: datetime | None  # from the header, when it has date and time
    signals: tuple[SignalMeta, ...]
    adc: np.ndarray
    # the reference annotations (record sample index), sorted by sample; empty without a file
    annotations: tuple[Annotation, ...] = ()
    annotator: str = ANNOTATOR

    @property
    def n_samples(self) -> int:
        return int(self.adc.shape[0])


def read_record(path: Path) -> Recording:
    """Read `path` (a record name without extension, e.g. ``data/101``) in ADC units."""
    name = path.name
    try:
        header = wfdb.rdheader(str(path))
    except FileNotFoundError as exc:
        raise RecordError(name, f"no header {path}.hea") from exc
    except Exception as exc:  # wfdb raises bare IndexError/ValueError on bad headers
        raise RecordError(name, f"malformed header {path}.hea: {exc!r}") from exc
    try:
        _check_header(name, header, path.parent)
    except RecordError:
        raise
    except Exception as exc:  # a header field none of the checks foresaw: name the record
        raise RecordError(name, f"unusable header {path}.hea: {exc!r}") from exc
    try:
        rec = wfdb.rdrecord(str(path), physical=False, return_res=16)
    except Exception as exc:
        raise RecordError(name, f"unreadable signal file: {exc!r}") from exc
    try:
        out = _to_recording(name, rec, read_annotations(path))
    except RecordError:
        raise
    except Exception as exc:  # a header field none of the checks foresaw: name the record
        raise RecordError(name, f"unusable header or signal: {exc!r}") from exc
    _check_carried(out)
    return out


def _check_carried(rec: Recording) -> None:
    """The record's registration through the consumers' own decoder: a record whose sampling
    rate, gains, baselines, names or length the pipeline would dead-letter is refused here, before
    anything of it is published (its samples would all be dead letters of an unknown patient)."""
    meta = PatientMeta("p", rec.name, rec.fs, 0, 0, rec.n_samples, rec.signals)
    try:
        decode(b"p", encode_meta(meta))
    except (DecodeError, ValueError) as exc:
        raise RecordError(rec.name, f"the pipeline cannot carry it: {exc}") from exc


def read_annotations(path: Path, annotator: str = ANNOTATOR) -> tuple[Annotation, ...]:
    """The annotations of record `path` (``<path>.<annotator>``), or () when there is no file."""
    if not path.with_name(f"{path.name}.{annotator}").exists():
        return ()
    try:
        ann = wfdb.rdann(str(path), annotator)
    except Exception as exc:  # wfdb raises bare ValueError/IndexError on a damaged file
        raise RecordError(path.name, f"unreadable annotation file {path}.{annotator}: {exc!r}") from exc
    n = len(ann.sample)

    def col(values: Any, default: Any) -> list:
        return list(values) if values is not None and len(values) == n else [default] * n

    out = [
        Annotation(int(s), str(sym), int(sub), int(ch), int(num), str(aux or "").rstrip("\x00"))
        for s, sym, sub, ch, num, aux in zip(
            ann.sample, col(ann.symbol, "?"), col(ann.subtype, 0), col(ann.chan, 0),
            col(ann.num, 0), col(ann.aux_note, ""), strict=True)
    ]
    _check_labels(path.name, annotator, out)
    return tuple(sorted(out, key=lambda a: a.index))


def _check_labels(name: str, annotator: str, labels: list[Annotation]) -> None:
    """Each label through the consumers' own decoder (alone in a message): a label it refuses (a
    NUL or a line break in an aux note, an over-long one) was published anyway, and its message,
    with the good labels of that second, dead-lettered while ingest exited 0. Refused here by
    name instead, like any record that cannot be carried whole."""
    source = annotator if ANN_SOURCE_RE.fullmatch(annotator) else ANNOTATOR
    for k, a in enumerate(labels):
        try:
            decode(b"p", encode_annotations(AnnotationBatch("p", source, 250.0, 0, (a,))))
        except DecodeError as exc:
            raise RecordError(name, f"annotation {k} ({a.symbol!r} at sample {a.index}) cannot be "
                                    f"carried: {exc.reason}") from exc


def _check_single_segment(name: str, header: Any) -> None:
    """A multi-segment record (a layout and segment records, each with its own signals and gains)
    is refused by name: before, it crashed ingest with an AttributeError and every other record
    was lost with it."""
    if isinstance(header, wfdb.MultiRecord) or getattr(header, "seg_name", None):
        raise RecordError(name, "multi-segment record is not supported (merge its segments into "
                                "one single-segment record first)")


def _check_header(name: str, header: Any, folder: Path) -> None:
    _check_single_segment(name, header)
    if not header.fs or not math.isfinite(header.fs) or header.fs <= 0:
        raise RecordError(name, f"bad sampling frequency {header.fs!r}")
    # wfdb reads "101 2 -360 650000" as counter frequency -360 at its default 250 Hz
    if header.counter_freq is not None and not header.counter_freq > 0:
        raise RecordError(name, f"bad sampling or counter frequency {header.counter_freq!r}")
    if not header.n_sig or not header.sig_len:
        raise RecordError(name, "header declares no signals or no samples")
    if header.n_sig > MAX_LEADS:
        raise RecordError(name, f"{header.n_sig} signals, at most {MAX_LEADS} are supported")
    spf = [int(v or 1) for v in (header.samps_per_frame or [])]
    if any(v != 1 for v in spf):
        # wfdb would average each frame's samples into one: not the samples that were recorded
        raise RecordError(name, f"multi-frequency record ({max(spf)} samples per frame in a signal) "
                                "is not supported")
    described = len(header.file_name or [])
    if described != header.n_sig:
        raise RecordError(name, f"header declares {header.n_sig} signals, describes {described}")
    per_file: dict[str, list[str]] = {}
    for fname, fmt in zip(header.file_name, header.fmt, strict=True):
        per_file.setdefault(fname, []).append(fmt)
    offsets = dict(zip(header.file_name, header.byte_offset or [None] * header.n_sig, strict=True))
    for fname, fmts in per_file.items():
        dat = folder / fname
        if not dat.exists():
            raise RecordError(name, f"signal file {fname} is missing")
        if any(f not in _BYTES_PER_SAMPLE for f in fmts):
            continue
        need = math.ceil(header.sig_len * sum(_BYTES_PER_SAMPLE[f] for f in fmts))
        need += offsets.get(fname) or 0
        have = dat.stat().st_size
        if have < need:
            raise RecordError(name, f"truncated {fname}: {have} bytes, header promises {need}")


def _to_recording(name: str, rec: Any, annotations: tuple[Annotation, ...] = ()) -> Recording:
    d = np.asarray(rec.d_signal)
    if d.ndim != 2 or d.shape[0] != rec.sig_len:
        raise RecordError(name, f"read {d.shape} samples, header says {rec.sig_len}")
    d = _invalid_as_16(d, [str(f) for f in (rec.fmt or ["16"] * d.shape[1])])
    if d.size and (d.min() < -32768 or d.max() > 32767):
        raise RecordError(name, "ADC values exceed 16 bits")
    signals = tuple(_signal_meta(rec, i) for i in range(rec.n_sig))
    if any(s.gain == 0 for s in signals):
        raise RecordError(name, "a signal has zero ADC gain")
    base = None
    if rec.base_date is not None and rec.base_time is not None:
        base = datetime.combine(rec.base_date, rec.base_time)
    return Recording(name, float(rec.fs), base, signals, d.astype(np.int16), annotations)


def _invalid_as_16(d: np.ndarray, fmts: list[str]) -> np.ndarray:
    """``d`` (samples x signals, the file's ADC values) with each format's "invalid sample" value
    (WFDB: -2048 in format 212, -128 in 80, -512 in 310/311) replaced by format 16's -32768
    (``INVALID_SAMPLE``), the one value the pipeline, the detectors and the exports read as "no
    sample". Formats 24 and 32 are read at 16 bits: wfdb refuses one whose invalid value is there
    (it does not fit), and the record is named as unreadable. Kept as it was, a missing sample of
    a 212 record became a real -2048 (-10.24 mV at a gain of 200) in the database, the exports and
    the detector's input."""
    out = None
    for i, fmt in enumerate(fmts[: d.shape[1]]):
        bad = _INVALID_SAMPLE.get(fmt)
        if bad is None:
            continue
        hit = d[:, i] == bad
        if hit.any():
            if out is None:
                out = d.astype(np.int64, copy=True)
            out[hit, i] = INVALID_SAMPLE
    return d if out is None else out


# WFDB's "invalid sample" value of the storage formats whose value is not format 16's (signal(5));
# format 8 (first differences) has none
_INVALID_SAMPLE = {"80": -128, "212": -2048, "310": -512, "311": -512}


# WFDB's default ADC resolution (bits) per storage format when the header omits it (header(5))
_DEFAULT_ADC_RES = {"8": 8, "80": 8, "212": 12, "310": 10, "311": 10, "24": 24, "32": 32}


def _signal_meta(rec: Any, i: int) -> SignalMeta:
    """Signal ``i``'s calibration, with WFDB's defaults for the fields a header may omit (after
    the format every field is optional): ADC zero 0, baseline = ADC zero, resolution by format
    (16 bits for the others), units mV, and a lead name "signal i" when there is no description."""

    def field(values: Any) -> Any:
        return values[i] if values is not None and i < len(values) else None

    fmt = str(field(rec.fmt) or "16")
    zero = field(rec.adc_zero)
    zero = 0 if zero is None else int(zero)
    base = field(rec.baseline)
    res = field(rec.adc_res)
    gain = field(rec.adc_gain)
    lead = field(rec.sig_name)
    return SignalMeta(
        lead=str(lead) if lead not in (None, "") else f"signal {i}",
        gain=200.0 if gain is None else float(gain),
        baseline=zero if base is None else int(base),
        adc_res=_DEFAULT_ADC_RES.get(fmt, 16) if res is None else int(res),
        adc_zero=zero,
        units=str(field(rec.units) or "mV"),
    )


def list_local(folder: Path) -> list[str]:
    """Record names in `folder`: its RECORDS file if present, else every ``*.hea``."""
    if not folder.is_dir():
        raise RecordError(str(folder), "not a folder")
    listing = folder / "RECORDS"
    if listing.exists():
        return [ln.strip() for ln in listing.read_text().splitlines() if ln.strip()]
    return sorted(p.stem for p in folder.glob("*.hea"))


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/prefix`` -> (bucket, prefix without trailing slash)."""
    if not uri.startswith("s3://") or len(uri) <= 5:
        raise RecordError(uri, "not an s3://bucket/prefix address")
    bucket, _, prefix = uri[5:].partition("/")
    return bucket, prefix.strip("/")


class S3Records:
    """WFDB records under ``s3://bucket/prefix``, fetched with boto3 into a scratch folder.

    The endpoint comes from boto3's own configuration (``AWS_ENDPOINT_URL``), so a local S3
    such as moto_server works unchanged.
    """

    def __init__(self, uri: str, client: Any | None = None) -> None:
        import boto3

        self.uri = uri
        self.bucket, self.prefix = parse_s3_uri(uri)
        self.client = client or boto3.client("s3")
        self._scratch = tempfile.TemporaryDirectory(prefix="ecgdash-s3-")

    def _key(self, fname: str) -> str:
        return f"{self.prefix}/{fname}" if self.prefix else fname

    def names(self) -> list[str]:
        from botocore.exceptions import BotoCoreError, ClientError

        out: list[str] = []
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self._key("")
            )
            for page in pages:
                for obj in page.get("Contents", []):
                    key: str = obj["Key"]
                    rest = key[len(self._key("")) :]
                    if rest.endswith(".hea") and "/" not in rest:
                        out.append(rest[:-4])
        except (BotoCoreError, ClientError) as exc:
            raise RecordError(self.uri, f"cannot list: {exc}") from exc
        return sorted(out)

    def read(self, name: str) -> Recording:
        from botocore.exceptions import BotoCoreError, ClientError

        folder = Path(self._scratch.name)
        try:
            self._fetch(f"{name}.hea", folder)
            try:
                header = wfdb.rdheader(str(folder / name))
            except Exception as exc:
                raise RecordError(name, f"malformed header {self.uri}/{name}.hea: {exc!r}") from exc
            _check_single_segment(name, header)
            for fname in dict.fromkeys(header.file_name or []):
                self._fetch(fname, folder)
            self._fetch_optional(f"{name}.{ANNOTATOR}", folder)
        except (BotoCoreError, ClientError) as exc:
            raise RecordError(name, f"cannot fetch from {self.uri}: {exc}") from exc
        try:
            return read_record(folder / name)
        finally:
            for p in folder.iterdir():
                p.unlink(missing_ok=True)

    def _fetch(self, fname: str, folder: Path) -> None:
        self.client.download_file(self.bucket, self._key(fname), str(folder / fname))

    def _fetch_optional(self, fname: str, folder: Path) -> None:
        """Fetch `fname` if the bucket has it (a record need not have annotations)."""
        from botocore.exceptions import ClientError

        try:
            self._fetch(fname, folder)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey"):
                raise

    def close(self) -> None:
        self._scratch.cleanup()


def load_records(
    source: str, names: list[str] | None = None
) -> Iterator[tuple[str, Recording | RecordError]]:
    """Yield (name, recording or the error that made it unreadable) for each record."""
    if source.startswith("s3://"):
        s3 = S3Records(source)
        try:
            for name in names or s3.names():
                try:
                    yield name, s3.read(name)
                except RecordError as exc:
                    yield name, exc
        finally:
            s3.close()
        return
    folder = Path(source)
    for name in names or list_local(folder):
        try:
            yield name, read_record(folder / name)
        except RecordError as exc:
            yield name, exc
