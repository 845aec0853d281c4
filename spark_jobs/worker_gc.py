"""Cheap garbage collections in Spark's Python workers.

pyspark's daemon runs ``gc.collect()`` after every task of a reused worker (pyspark/daemon.py).
A worker of these jobs holds ~150,000 long-lived objects once numpy, pandas, pyarrow, scipy and
pyspark are imported, so each of those full collections walks them all: ~70 ms each here, and
with three queries on 2-s triggers there are several tasks a second (py-spy on
``bench/capacity.py`` at 250 beds: ~18 % of the jobs' Python CPU was that ``gc.collect()``).
`freeze_once` moves what is alive at a worker's first task (its imported modules) to the
permanent generation (``gc.freeze()``), after which a full collection only walks what the tasks
allocate. The objects of that first task stay frozen too: a bounded, one-time cost per worker.
"""

from __future__ import annotations

import gc

_frozen = False


def freeze_once() -> None:
    """Call at the start of every Python task of ours; acts on the first call of the process."""
    global _frozen
    if not _frozen:
        _frozen = True
        gc.collect()
        gc.freeze()
