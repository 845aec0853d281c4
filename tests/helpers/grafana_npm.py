"""Grafana's own npm code, run from the tests (grafana/schema_check/check.mjs).

* :func:`schema_errors`: every dashboard against @grafana/schema's types as JSON Schema (ajv).
* :func:`grafana_intervals`: ``$__interval`` as Grafana's query runner computes it
  (@grafana/data ``rangeUtil.calculateInterval(range, maxDataPoints, panel.interval ||
  datasource.interval)``).

Installed by ``./dev setup`` (``npm ci`` in grafana/schema_check).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

CHECK_DIR = Path(__file__).resolve().parents[2] / "grafana" / "schema_check"
SCRIPT = CHECK_DIR / "check.mjs"


def _node() -> str:
    node = shutil.which("node")
    if node is None or not (CHECK_DIR / "node_modules" / "@grafana" / "schema").is_dir():
        raise RuntimeError("Grafana's npm packages are missing: run ./dev setup")
    return node


def schema_errors(files: list[Path]) -> dict[str, list[str]]:
    """{file: [error, ...]} of each dashboard JSON file against Grafana 11.6's schema."""
    proc = subprocess.run([_node(), str(SCRIPT), "schema", *map(str, files)], capture_output=True,
                          text=True, timeout=300, check=False)
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"check.mjs schema failed: {proc.stderr}")
    return {Path(k).name: v for k, v in json.loads(proc.stdout).items()}


@dataclass(frozen=True)
class IntervalCase:
    time_from: datetime
    time_to: datetime
    max_data_points: int
    min_interval: str | None  # the panel's `interval`, else the datasource's


def grafana_intervals(cases: list[IntervalCase]) -> list[tuple[int, str]]:
    """(intervalMs, interval text) of each case, by @grafana/data."""
    payload = [{"fromMs": int(c.time_from.timestamp() * 1000), "toMs": int(c.time_to.timestamp() * 1000),
                "maxDataPoints": c.max_data_points, "minInterval": c.min_interval} for c in cases]
    proc = subprocess.run([_node(), str(SCRIPT), "interval"], input=json.dumps(payload),
                          capture_output=True, text=True, timeout=120, check=True)
    return [(r["intervalMs"], r["interval"]) for r in json.loads(proc.stdout)]
