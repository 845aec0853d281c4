"""Wait out a database outage inside a micro-batch instead of failing the query."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from ecgdash.timescale.connection import transient

T = TypeVar("T")
log = logging.getLogger(__name__)


def retry_transient(fn: Callable[[], T], *, retry_for_s: float, what: str,
                    on_error: Callable[[], None] = lambda: None, max_delay_s: float = 30.0) -> T:
    """Call `fn` until it succeeds; a connection/server error (``transient``) is retried with
    backoff (1, 2, 4 ... `max_delay_s` s) for up to `retry_for_s`, anything else raises at once.
    `on_error` runs after every failure (e.g. to drop a broken connection)."""
    deadline = time.monotonic() + retry_for_s
    delay = 1.0
    while True:
        try:
            return fn()
        except Exception as exc:
            on_error()
            if not transient(exc) or time.monotonic() + delay > deadline:
                raise
            log.warning("%s: database unavailable (%s); retrying in %.0f s", what,
                        str(exc).splitlines()[0] if str(exc) else type(exc).__name__, delay)
            time.sleep(delay)
            delay = min(delay * 2, max_delay_s)
