"""A sample the source marks invalid (WFDB's per-format "invalid sample" value) stays missing all
the way: read as -32768 whatever the storage format, read by the detectors as a gap (NaN), never as
a value.

Found by an adversarial review: a format-212 record's invalid samples (-2048) were stored, exported
and fed to the detector as real values (-10.24 mV at a gain of 200), and marked valid.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import wfdb

from ecgdash.core.codec import INVALID_SAMPLE, samples_as_float
from ecgdash.core.qrs import StreamingQRSDetector
from ecgdash.core.qrs.quality import LeadFlag
from ecgdash.ingest.records import read_record
from tests.helpers import MITDB


@pytest.mark.parametrize("fmt", ["212", "80", "16"])
def test_each_formats_invalid_value_is_read_as_minus_32768(tmp_path: Path, fmt: str) -> None:
    phys = np.sin(np.linspace(0, 20, 2000)).reshape(1000, 2)
    phys[100:140, 0] = np.nan  # 40 samples of lead 0 marked invalid in the file
    wfdb.wrsamp("r", fs=250, units=["mV", "mV"], sig_name=["I", "II"], p_signal=phys,
                fmt=[fmt, fmt], adc_gain=[100.0, 100.0], baseline=[0, 0], write_dir=str(tmp_path))
    raw = wfdb.rdrecord(str(tmp_path / "r"), physical=False, return_res=16).d_signal
    assert (raw[100:140, 0] != INVALID_SAMPLE).all() or fmt == "16"  # the file's own marker
    rec = read_record(tmp_path / "r")
    bad = np.zeros(rec.adc.shape, bool)
    bad[100:140, 0] = True
    assert (rec.adc[bad] == INVALID_SAMPLE).all()
    np.testing.assert_array_equal(rec.adc[~bad], raw[~bad])  # every other sample exact
    assert (rec.adc[~bad] != INVALID_SAMPLE).all()


def test_detector_reads_invalid_samples_as_a_gap() -> None:
    """Half a second of lead 0 marked invalid in each 10 s of record 101: the detector sees a gap
    (its windows flag it; at most one beat per gap lost, as with any held-over gap), not a step to
    -32768 units, which no window flagged and which cost 11 of 70 beats (measured)."""
    adc = read_record(MITDB / "101").adc[: 360 * 60].T.copy()  # (leads, n)
    clean = adc.T.astype(np.float64)
    for s in range(5, 60, 10):
        adc[0, s * 360 : s * 360 + 180] = INVALID_SAMPLE
    x = samples_as_float(adc)
    assert x.shape == (adc.shape[1], 2) and np.isnan(x[:, 0]).sum() == 6 * 180
    assert not np.isnan(x[:, 1]).any()
    ann = wfdb.rdann(str(MITDB / "101"), "atr")
    ref = ann.sample[np.isin(ann.symbol, list("NLRBAaJSVrFejnE/fQ")) & (ann.sample < 360 * 60)]

    def run(sig: np.ndarray) -> tuple[int, int, list[int]]:
        det = StreamingQRSDetector(360, 2)
        res = det.process(sig)
        end = det.finish()
        beats = np.array([b.index for b in res.beats + end.beats])
        tp = int(sum(np.abs(beats - r).min() <= 54 for r in ref))  # EC57's 150 ms
        gaps = [w.start // 360 for w in res.windows + end.windows if w.flags[0] & LeadFlag.GAP]
        return tp, beats.size - tp, gaps

    tp0, fp0, _ = run(clean)
    tp, fp, gaps = run(x)
    assert gaps == [5, 15, 25, 35, 45, 55]
    assert tp >= tp0 - 6 and fp <= fp0 + 2, (tp, fp, tp0, fp0)
    tpv, _, gapv = run(adc.T.astype(np.float64))  # what the jobs did before: -32768 as a value
    assert gapv == [] and tpv < tp
