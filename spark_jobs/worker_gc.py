"""Cheap garbage collections in Spark's Python workers.

pyspark's daemon runs ``gc.collect()`` after every task of a reused worker (pyspark/daemon.py).
A worker of these jobs holds ~150,000 long-lived objects once numpy, pandas, pyarrow, scipy and
pyspark are imported, so each of those full collections walks them all: ~70 ms each here, and
with three queries on 2-s triggers there are several tasks a second (py-spy on
``bench/capacity.py`` at 250 beds: ~18 % of the jobs' Python CPU was that ``gc.collect()``).
Measured in the task workers of tests/spark_jobs/test_pipeline.py: 40-50 ms of CPU per collection
before, 4-6 ms after (142,000 objects frozen, 15,000 left to walk).
`freeze_once` imports, at a worker's first task, every module any of our tasks will use (one
worker serves the source's read tasks and the pandas-state tasks of every query: freezing after
a read task alone would leave pandas, pyarrow and scipy, loaded later, outside the freeze) and
moves what is alive then to the permanent generation (``gc.freeze()``); a full collection then
only walks what the tasks allocate. The objects of that first task stay frozen too: a bounded,
one-time cost per worker.
"""

from __future__ import annotations

import gc

_frozen = False


def freeze_once() -> None:
    """Call at the start of every Python task of ours; acts on the first call of the process."""
    global _frozen
    if not _frozen:
        _frozen = True
        import numpy  # noqa: F401
        import pandas  # noqa: F401
        import pyarrow  # noqa: F401
        import pyspark.sql.pandas.serializers  # noqa: F401
        import scipy.signal  # noqa: F401

        import ecgdash.core.alarms  # noqa: F401
        import ecgdash.core.codec  # noqa: F401
        import ecgdash.core.qrs  # noqa: F401

        gc.collect()
        gc.freeze()

