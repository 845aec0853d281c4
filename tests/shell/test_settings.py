"""Settings that name places: checkpoint locations keep a URI's scheme and authority."""

from __future__ import annotations

from pathlib import Path

import pytest

from ecgdash.settings import Settings
from ecgdash.spark_jobs.session import checkpoint_path, query_id


@pytest.mark.parametrize(
    "base,expected",
    [
        ("s3://bucket/ecg/checkpoints", "s3://bucket/ecg/checkpoints/raw_writer"),
        ("hdfs://namenode:8020/ck/", "hdfs://namenode:8020/ck/raw_writer"),
        ("hdfs:/ecgdash/checkpoints", "hdfs:/ecgdash/checkpoints/raw_writer"),
        ("file:///var/lib/ecg", "file:///var/lib/ecg/raw_writer"),
    ],
)
def test_uri_checkpoints_keep_their_scheme(base: str, expected: str) -> None:
    assert checkpoint_path(base, "raw_writer") == expected
    assert Settings(checkpoint_dir=base).checkpoint("raw_writer") == expected


def test_local_checkpoints_are_paths(tmp_path: Path) -> None:
    assert Settings(checkpoint_dir=str(tmp_path)).checkpoint("hr_job") == tmp_path / "hr_job"
    assert Settings(home=tmp_path).checkpoint("hr_job") == tmp_path / "checkpoints" / "hr_job"


def test_query_id_names_the_checkpoint_it_cannot_read(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match=str(tmp_path / "nowhere")):
        query_id(tmp_path / "nowhere")
    with pytest.raises(RuntimeError, match="Spark session is needed"):
        query_id("s3://bucket/ck")
