"""argparse types shared by the commands: a value argparse refuses exits 2 with a line naming the
option, instead of a negative count that silently does nothing or a traceback later (a NaN sleep,
a negative SQL LIMIT, an infinite timedelta)."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable


def positive(kind: type) -> Callable[[str], int | float]:
    """A finite number of ``kind`` (int or float) above 0."""

    def parse(text: str) -> int | float:
        v = kind(text)  # not a number: argparse's own "invalid int value: 'eight'"
        if not (v > 0 and math.isfinite(v)):
            raise argparse.ArgumentTypeError(f"must be a positive {kind.__name__}, not {text!r}")
        return v

    parse.__name__ = kind.__name__
    return parse


def speed_type(text: str) -> str:
    """'max' or a positive number (kept as text)."""
    if text == "max":
        return text
    try:
        positive(float)(text)
    except (ValueError, argparse.ArgumentTypeError):
        raise argparse.ArgumentTypeError(f"speed must be a positive number or 'max', not {text!r}") from None
    return text
