"""Golden beats for MIT-BIH record 119 (both leads, whole record, 360 Hz).

``golden/mitdb_119_beats.txt`` holds one R-peak sample index per line. It was produced with
``QRS_REGENERATE_GOLDEN=1 pytest tests/qrs/test_golden.py``, which writes
``detect_beats(rdrecord("ingest/sample_records/mitdb/119").p_signal, 360)`` with the default
``DetectorConfig``; regenerate it only on a deliberate change of the detector and say why in the
commit. Its accuracy against the cardiologists' annotations is checked in test_accuracy.py.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ecgdash.core.qrs import detect_beats

GOLDEN = Path(__file__).parent / "golden" / "mitdb_119_beats.txt"


def test_golden_record_119(mitdb):
    x, fs, _ = mitdb("119")
    got = detect_beats(x, fs)
    if os.environ.get("QRS_REGENERATE_GOLDEN") == "1":
        GOLDEN.write_text("".join(f"{i}\n" for i in got))
    expected = np.loadtxt(GOLDEN, dtype=np.int64)
    np.testing.assert_array_equal(got, expected)
