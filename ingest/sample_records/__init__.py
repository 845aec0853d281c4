"""Real PhysioNet recordings shipped with the package (see README.md here): the records
``ecgdash demo`` replays and the test suite's fixtures."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def mitdb() -> Path:
    """Folder of the MIT-BIH records 101, 106, 119 and 208 (.hea/.dat/.atr)."""
    return Path(str(resources.files(__name__) / "mitdb"))
