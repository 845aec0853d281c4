"""The quick start's demo, run as a user runs it, twice in one home (the second run must not
mix its streams with the first one's signal, which a full-speed replay stores ahead of now)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


def test_demo_runs_twice_in_one_home(tmp_path: Path) -> None:
    """3 minutes of signal at full speed lie up to 3 minutes ahead of the clock; the second demo
    starts well within that, so without its start-after-stored-signal rule it would fail."""
    env = {**os.environ, "ECG_HOME": str(tmp_path / ".ecgdash")}
    for run in (1, 2):
        out = tmp_path / f"demo{run}.json"
        argv = [sys.executable, "-m", "ecgdash.cli", "demo", "--db", "postgres", "--patients", "2",
                "--minutes", "3", "--speed", "max", "--json", str(out)]  # fmt: skip
        proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=900, cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr[-3000:]
        s = json.loads(out.read_text())
        assert s["samples_stored"] == s["samples_sent"] == 2 * 180 * 360 * 2
        assert (s["samples_mismatched"], s["duplicates"], s["missing"]) == (0, 0, 0)
        assert s["wfdb_export"]["bit_exact"] and s["wfdb_export"]["beats"] > 50
        for hr in s["heart_rate_bpm"].values():
            assert hr["ours"] == pytest.approx(hr["reference"], abs=2.0)
