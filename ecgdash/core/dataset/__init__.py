"""The ML dataset format: what a cohort export writes, whichever engine writes it.

Pure (numpy, pyarrow, wfdb, matplotlib; no database): the local exporter and the Spark job
hand it the same pages of stored chunks and labels and get the same files, so a dataset reads
the same whichever engine wrote it. See README "ML datasets".
"""

from ecgdash.core.dataset.chunks import INVALID, ChunkBlock, parse_arrays
from ecgdash.core.dataset.labels import Labels
from ecgdash.core.dataset.layout import SCHEMA_VERSION, PatientPlan, Unit, plan_units

__all__ = ["INVALID", "SCHEMA_VERSION", "ChunkBlock", "Labels", "PatientPlan", "Unit",
           "parse_arrays", "plan_units"]
