"""Stored chunks placed on a patient's sample grid, segment by segment, in bounded memory.

Chunks arrive in time order (any batching: a page query, an Arrow batch of a Spark task); a
segment of the grid is emitted once a chunk starts after it, so memory holds one segment and the
few chunks that straddle its end, whatever the range.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from ecgdash.core.dataset.chunks import INVALID, ChunkBlock
from ecgdash.core.dataset.layout import PatientPlan


@dataclass
class Segment:
    k0: int  # grid index of adc[0]
    adc: np.ndarray  # (n, leads) int16, INVALID where nothing is stored
    valid: np.ndarray  # (n, leads) bool


class GridAssembler:
    """Emit the grid ``[k_begin, k_end)`` of `plan` as segments of `seg` samples."""

    def __init__(self, plan: PatientPlan, k_begin: int, k_end: int, seg: int) -> None:
        self.plan, self.k_end, self.seg = plan, k_end, max(1, seg)
        self.n_leads = len(plan.leads)
        self.ks = k_begin
        self.carry: list[tuple[int, int, np.ndarray]] = []  # (grid start, lead, samples)
        self._new()

    def _new(self) -> None:
        n = max(0, min(self.seg, self.k_end - self.ks))
        self.adc = np.full((n, self.n_leads), INVALID, np.int16)
        self.valid = np.zeros((n, self.n_leads), bool)
        pending, self.carry = self.carry, []
        for at, col, values in pending:
            self._put(at, col, values)

    def _put(self, at: int, col: int, values: np.ndarray) -> None:
        n = self.adc.shape[0]
        a = at - self.ks
        lo, hi = max(a, 0), min(a + values.size, n)
        if lo < hi and 0 <= col < self.n_leads:
            self.adc[lo:hi, col] = values[lo - a : hi - a]
            self.valid[lo:hi, col] = True
        if a + values.size > n and self.ks + n < self.k_end:
            self.carry.append((at, col, values))

    def _emit(self) -> Segment:
        out = Segment(self.ks, self.adc, self.valid)
        self.ks += self.adc.shape[0]
        self._new()
        return out

    def feed(self, block: ChunkBlock) -> Iterator[Segment]:
        p = self.plan
        at = np.round((block.time_us - p.base_us) * (p.fs / 1e6)).astype(np.int64)
        ends = np.zeros(block.lengths.size + 1, np.int64)
        np.cumsum(block.lengths, out=ends[1:])
        for i in range(block.lengths.size):
            a = int(at[i])
            if a >= self.k_end:
                break
            while a >= self.ks + self.seg and self.ks < self.k_end:
                yield self._emit()
            self._put(a, int(block.signal_index[i]), block.values[ends[i] : ends[i + 1]])

    def finish(self) -> Iterator[Segment]:
        while self.ks < self.k_end:
            yield self._emit()
