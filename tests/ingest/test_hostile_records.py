"""Hostile and unusual WFDB records at ingest: each is read exactly or refused by name before
anything of it is published, and the other records go on.

The cases came from an adversarial review (probe scripts against ``read_record``, ``plan_streams``
and ``run_ingest``): a header that omits the optional fields crashed ingest with a bare TypeError;
a multi-frequency record was silently averaged (wfdb smooths frames by default); a record of 33
leads or 70 kHz crashed the replay mid-way; a record whose gain, baseline, resolution or lead name
the consumers' decoder refuses was published whole and dead-lettered sample by sample while ingest
exited 0; a patient id the key format refuses aborted every record.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np
import pytest
import wfdb
from kafka import KafkaConsumer, TopicPartition

from ecgdash.core.codec import MAX_CHUNK, decode, encode_samples
from ecgdash.core.errors import ConfigError, RecordError
from ecgdash.ingest.records import load_records, read_record
from ecgdash.ingest.replay import plan_streams
from ecgdash.ingest.run import read_mapping, run_ingest
from tests.helpers import MITDB

HEADER_101 = (MITDB / "101.hea").read_text()  # 101 2 360 650000 / 101.dat 212 200 11 1024 ... MLII


def _copy(names: list[str], dest: Path) -> None:
    for n in names:
        for ext in ("hea", "dat", "atr"):
            shutil.copy(MITDB / f"{n}.{ext}", dest / f"{n}.{ext}")


def _with_header(tmp_path: Path, header: str) -> Path:
    _copy(["101"], tmp_path)
    (tmp_path / "101.hea").write_text(header)
    return tmp_path / "101"


def test_minimal_header_takes_wfdbs_defaults(tmp_path: Path) -> None:
    """After the storage format every header field is optional (WFDB header(5)): ADC zero 0,
    baseline = ADC zero, resolution 12 bits for format 212, no description. The samples are the
    file's, exactly."""
    rec = read_record(_with_header(tmp_path, "101 2 360 650000\n101.dat 212 200\n101.dat 212 200\n"))
    ref = wfdb.rdrecord(str(MITDB / "101"), physical=False)
    assert np.array_equal(rec.adc, ref.d_signal)
    assert [(s.lead, s.gain, s.baseline, s.adc_res, s.adc_zero, s.units) for s in rec.signals] == [
        ("signal 0", 200.0, 0, 12, 0, "mV"), ("signal 1", 200.0, 0, 12, 0, "mV")]


@pytest.mark.parametrize(
    "header,reason",
    [
        # two samples per frame: wfdb would hand back their mean, not what was recorded
        ("101 1 180 650000\n101.dat 212x2 200 11 1024 0 0 0 MLII\n", "multi-frequency record"),
        ("101 2 -360 650000\n101.dat 212 200 11 1024 995 0 0 MLII\n101.dat 212 200 11 1024 0 0 0 V1\n",
         "bad sampling or counter frequency"),
        (HEADER_101.replace("212 200 11", "212 1e400 11", 1), "gain inf"),
        (HEADER_101.replace("200 11 1024", "200 11 99999999999", 1), "outside [-2147483648"),
        (HEADER_101.replace("200 11 1024", "200 99 1024", 1), "adc_res 99"),
        (HEADER_101.replace("0 MLII", "0 " + "M" * 300, 1), "lead must be 1-256 characters"),
    ],
    ids=["two-samples-per-frame", "negative-rate", "infinite-gain", "huge-baseline", "adc-res-99",
         "long-lead-name"],
)
def test_records_the_pipeline_cannot_carry_are_refused_by_name(tmp_path: Path, header: str,
                                                               reason: str) -> None:  # fmt: skip
    with pytest.raises(RecordError) as info:
        read_record(_with_header(tmp_path, header))
    assert info.value.record == "101" and reason in info.value.reason, info.value.reason


def test_more_leads_than_a_message_carries(tmp_path: Path) -> None:
    sig = np.zeros((100, 33), dtype=np.int16)
    wfdb.wrsamp("r", fs=360, units=["mV"] * 33, sig_name=[f"L{i}" for i in range(33)], d_signal=sig,
                fmt=["16"] * 33, adc_gain=[200.0] * 33, baseline=[0] * 33,
                write_dir=str(tmp_path))  # fmt: skip
    got = dict(load_records(str(tmp_path)))
    assert isinstance(got["r"], RecordError) and "33 signals, at most 32" in got["r"].reason


def test_a_70_khz_record_is_sent_in_messages_it_fits(tmp_path: Path) -> None:
    """One second per message, but never more samples than a message carries (65535)."""
    rec = read_record(_with_header(tmp_path, HEADER_101.replace("101 2 360", "101 2 70000")))
    (s,) = plan_streams([rec], 1, seconds=2.0, loop=False, start_us=1_700_000_000_000_000)
    assert s.chunk == MAX_CHUNK
    chunk = s.take()
    assert decode(b"101", encode_samples(chunk)).n_samples == MAX_CHUNK


@pytest.mark.parametrize(
    "text,reason",
    [
        ("record,bed\n101,p1\n", "no column patient"),
        ("101,p1\n", "no column"),
        ("record,patient\n101,\n", "line 2: empty record or patient"),
        ("record,patient\n101,p1\n101,p2\n", "line 3: record '101' mapped twice"),
        ("record\n101\n", "no column patient"),
    ],
)
def test_malformed_mapping_is_named(tmp_path: Path, text: str, reason: str) -> None:
    (tmp_path / "m.csv").write_text(text)
    with pytest.raises(ConfigError, match=reason.replace("(", r"\(")):
        read_mapping(tmp_path / "m.csv")


def _keys(broker: str, topic: str, timeout_s: float = 15.0) -> set[bytes]:
    c = KafkaConsumer(bootstrap_servers=broker, fetch_max_wait_ms=100)
    parts = [TopicPartition(topic, p) for p in range(4)]
    c.assign(parts)
    c.seek_to_beginning(*parts)
    keys: set[bytes] = set()
    deadline, quiet = time.monotonic() + timeout_s, 0
    while time.monotonic() < deadline and quiet < 4:
        got = c.poll(timeout_ms=500)
        quiet = 0 if got else quiet + 1
        for batch in got.values():
            keys.update(m.key for m in batch)
    c.close()
    return keys


@pytest.mark.integration
def test_streams_the_pipeline_would_refuse_are_not_sent(broker: str, topic: str, tmp_path: Path) -> None:
    """A patient id the key format refuses (a space), and a copy whose id grows past 64
    characters: those streams are named and not sent; every other stream is, whole."""
    _copy(["101", "106"], tmp_path)
    long_id = "p" * 63  # its second copy would be "ppp....1", 65 characters
    result = run_ingest(str(tmp_path), broker, topic, n_patients=4, seconds=3, speed=None,
                        mapping={"101": "bed 1", "106": long_id}, show_progress=False)  # fmt: skip
    named = sorted((e.record, str(e).split("'")[1]) for e in result.errors)
    assert named == [("101", "bed 1"), ("101", "bed 1.1"), ("106", long_id + ".1")], named
    assert all("bad patient id" in str(e) for e in result.errors)
    assert [s.patient for s in result.streams] == [long_id]
    assert _keys(broker, topic) == {long_id.encode()}


@pytest.mark.integration
def test_a_start_outside_the_signal_clock_sends_nothing(broker: str, topic: str, tmp_path: Path) -> None:
    """``--start record`` with a header dated 1800: every message would be dead-lettered (the
    clock runs 1900-2200), so the record is refused before anything is sent."""
    _copy(["101"], tmp_path)
    dated = HEADER_101.replace("101 2 360 650000", "101 2 360 650000 10:00:00 01/01/1800", 1)
    (tmp_path / "101.hea").write_text(dated)
    result = run_ingest(str(tmp_path), broker, topic, seconds=3, speed=None, start="record",
                        show_progress=False)  # fmt: skip
    assert not result.streams and result.stats.messages == 0
    assert len(result.errors) == 1 and "start_us" in str(result.errors[0]), result.errors
    assert _keys(broker, topic, timeout_s=3.0) == set()


@pytest.mark.parametrize("args", [
    ["--patients", "-1"], ["--patients", "0"], ["--patients", "two"],
    ["--minutes", "-1"], ["--minutes", "nan"], ["--minutes", "inf"],
])
def test_ingest_refuses_counts_that_send_nothing(args: list[str], capsys) -> None:
    """``--patients -1`` published nothing and ``--minutes -1`` metadata alone, both with exit 0;
    now argparse refuses them (exit 2, naming the option)."""
    from ecgdash.cli.main import build_parser

    with pytest.raises(SystemExit) as info:
        build_parser().parse_args(["ingest", str(MITDB), *args])
    assert info.value.code == 2 and args[0] in capsys.readouterr().err


def test_multi_segment_record_refused_by_name_others_go_on(tmp_path: Path) -> None:
    """A multi-segment record (a layout header naming segment records) crashed ingest with an
    AttributeError, and every other record was lost with it (adversarial review)."""
    _copy(["101"], tmp_path)
    sig = np.arange(7200, dtype=np.int16).reshape(3600, 2) % 500
    for k in (1, 2):
        wfdb.wrsamp(f"seg{k}", fs=360, units=["mV", "mV"], sig_name=["I", "II"], fmt=["16", "16"],
                    d_signal=sig[(k - 1) * 1800 : k * 1800], adc_gain=[200.0, 200.0], baseline=[0, 0],
                    write_dir=str(tmp_path))  # fmt: skip
    (tmp_path / "multi.hea").write_text("multi/2 2 360 3600\nseg1 1800\nseg2 1800\n")
    got = dict(load_records(str(tmp_path), ["multi", "101"]))
    assert isinstance(got["multi"], RecordError) and "multi-segment" in got["multi"].reason
    assert not isinstance(got["101"], RecordError) and got["101"].n_samples == 650000


def test_a_label_the_decoder_refuses_refuses_the_record_by_name(tmp_path: Path) -> None:
    """An aux note with a NUL inside: its message, with the good labels of that second, was
    dead-lettered while ingest exited 0 (adversarial review)."""
    sig = np.zeros((3600, 2), dtype=np.int16)
    wfdb.wrsamp("auxnul", fs=360, units=["mV", "mV"], sig_name=["a", "b"], d_signal=sig, fmt=["16", "16"],
                adc_gain=[200.0, 200.0], baseline=[0, 0], write_dir=str(tmp_path))  # fmt: skip
    wfdb.wrann("auxnul", "atr", np.array([10, 20, 400]), symbol=["N", "+", "N"],
               aux_note=["", "(AF\x00x", ""], write_dir=str(tmp_path))  # fmt: skip
    with pytest.raises(RecordError) as info:
        read_record(tmp_path / "auxnul")
    assert "annotation 1 ('+' at sample 20)" in info.value.reason and "NUL" in info.value.reason
