"""Reading WFDB records from disk and from S3 (a real local S3), and rejecting bad ones."""

from __future__ import annotations

import shutil
from pathlib import Path

import boto3
import numpy as np
import pytest
import wfdb

from ecgdash.core.errors import RecordError
from ecgdash.ingest.records import S3Records, list_local, load_records, read_record
from tests.helpers import MITDB


def test_read_local_is_adc_exact() -> None:
    rec = read_record(MITDB / "101")
    ref = wfdb.rdrecord(str(MITDB / "101"), physical=False)
    assert rec.fs == 360.0 and rec.n_samples == 650_000 and rec.adc.dtype == np.int16
    assert np.array_equal(rec.adc, ref.d_signal)
    assert [s.lead for s in rec.signals] == ["MLII", "V1"]
    assert rec.signals[0].gain == 200.0 and rec.signals[0].baseline == 1024


def test_list_local() -> None:
    assert list_local(MITDB) == ["101", "106", "119", "208"]


def _copy(names: list[str], dest: Path) -> None:
    for n in names:
        for ext in ("hea", "dat", "atr"):
            shutil.copy(MITDB / f"{n}.{ext}", dest / f"{n}.{ext}")


def test_truncated_dat_named_and_others_go_on(tmp_path: Path) -> None:
    _copy(["101", "106"], tmp_path)
    data = (tmp_path / "106.dat").read_bytes()
    (tmp_path / "106.dat").write_bytes(data[: len(data) // 3])
    got = dict(load_records(str(tmp_path)))
    assert not isinstance(got["101"], RecordError)
    err = got["106"]
    assert isinstance(err, RecordError) and err.record == "106" and "truncated 106.dat" in str(err)


@pytest.mark.parametrize(
    "header,reason",
    [
        ("101 2 abc 650000\n101.dat 212 200 11 1024 955 29832 0 MLII\n", "101"),
        ("101 2 360 650000\n", "101"),
        ("garbage\n", "101"),
    ],
)
def test_malformed_header_named(tmp_path: Path, header: str, reason: str) -> None:
    _copy(["101"], tmp_path)
    (tmp_path / "101.hea").write_text(header)
    with pytest.raises(RecordError) as info:
        read_record(tmp_path / "101")
    assert info.value.record == "101"


def test_missing_signal_file(tmp_path: Path) -> None:
    _copy(["101"], tmp_path)
    (tmp_path / "101.dat").unlink()
    with pytest.raises(RecordError, match="101.dat is missing"):
        read_record(tmp_path / "101")


def test_s3_records_equal_local(s3_endpoint: str) -> None:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="ecg-raw")
    for n in ("101", "119"):
        for ext in ("hea", "dat"):
            s3.upload_file(str(MITDB / f"{n}.{ext}"), "ecg-raw", f"mitdb/{n}.{ext}")
    src = S3Records("s3://ecg-raw/mitdb")
    try:
        assert src.names() == ["101", "119"]
        rec = src.read("119")
        assert np.array_equal(rec.adc, read_record(MITDB / "119").adc)
    finally:
        src.close()


def test_s3_unreadable_object_named_others_go_on(s3_endpoint: str) -> None:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="ecg-bad")
    s3.upload_file(str(MITDB / "101.hea"), "ecg-bad", "r/101.hea")  # its .dat is missing
    for ext in ("hea", "dat"):
        s3.upload_file(str(MITDB / f"106.{ext}"), "ecg-bad", f"r/106.{ext}")
    got = dict(load_records("s3://ecg-bad/r"))
    assert isinstance(got["101"], RecordError) and "cannot fetch" in str(got["101"])
    assert not isinstance(got["106"], RecordError)


def test_s3_missing_bucket_is_clear(s3_endpoint: str) -> None:
    got = list(load_records("s3://no-such-bucket/x", ["101"]))
    assert isinstance(got[0][1], RecordError) and "101" in str(got[0][1])
