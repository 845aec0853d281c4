"""The Python workers' imported modules are frozen out of pyspark's per-task gc.collect()."""

from __future__ import annotations

import inspect
import subprocess
import sys

from pyspark import daemon

CHILD = """
import gc
import sys
import ecgdash.spark_jobs.kafka_source  # a worker's first task may be a source read
from ecgdash.spark_jobs.worker_gc import freeze_once
assert gc.get_freeze_count() == 0
freeze_once()
n = gc.get_freeze_count()
# what the pandas-state tasks that come later load is inside the freeze already
assert {"pandas", "pyarrow", "scipy.signal", "ecgdash.core.qrs"} <= set(sys.modules)
junk = [[i] for i in range(1000)]
freeze_once()  # only the first call freezes
assert gc.get_freeze_count() == n, (n, gc.get_freeze_count())
print(n)
"""


def test_pyspark_still_collects_after_every_task() -> None:
    """Why freeze_once exists: the daemon's reused worker runs a full gc.collect() per task."""
    assert "gc.collect()" in inspect.getsource(daemon.worker) or \
        "gc.collect()" in inspect.getsource(daemon.manager)


def test_first_task_freezes_the_imported_modules_once() -> None:
    out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, check=True)
    assert int(out.stdout) > 100_000  # numpy, pandas, pyarrow, scipy, pyspark: ~140,000 objects
