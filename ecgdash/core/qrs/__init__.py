"""R-peak (QRS) detection for streaming ECG: pure numpy/scipy, chunk-invariant, resumable.

Public API:

* :class:`StreamingQRSDetector` - ``push(samples (n, n_leads)) -> list[Beat]``, ``flush()``,
  ``process()/finish()`` (beats and quality windows), ``to_bytes()/from_bytes()``.
* :func:`detect_beats` - offline R-peak sample indices, identical to streaming in any chunking.
* :class:`Beat`, :class:`QualityWindow`, :class:`LeadFlag`, :class:`DetectorConfig`.
"""

from ecgdash.core.qrs.config import DetectorConfig
from ecgdash.core.qrs.detector import Beat, ChunkResult, StreamingQRSDetector, detect_beats
from ecgdash.core.qrs.quality import LeadFlag, QualityWindow
from ecgdash.core.qrs.state import StateError

__all__ = [
    "Beat",
    "ChunkResult",
    "DetectorConfig",
    "LeadFlag",
    "QualityWindow",
    "StateError",
    "StreamingQRSDetector",
    "detect_beats",
]
