"""Stored chunks as numpy: PostgreSQL's binary arrays parsed without a Python int per sample,
samples exploded to one row each, or placed on a patient's sample grid.

A chunk is one row of ``waveform``: ``samples[j]`` of lead ``signal_index`` is at
``time + round(j * 1e6 / fs)`` µs (the signal clock, as the codec computes it) and has stream
index ``sample_index + j``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ecgdash.core.codec import INVALID_SAMPLE

INVALID = INVALID_SAMPLE  # WFDB format 16's "invalid sample": a grid sample with nothing stored
_HEADER = 20  # array_send of a one-dimensional array: ndim, flags, element oid, length, lbound


@dataclass(frozen=True)
class ChunkBlock:
    """Consecutive stored chunks of one patient (in time, then lead order)."""

    signal_index: np.ndarray  # int16 (m,)
    time_us: np.ndarray  # int64 (m,): epoch µs of each chunk's first sample
    sample_index: np.ndarray  # int64 (m,): stream index of each chunk's first sample
    lengths: np.ndarray  # int64 (m,): samples per chunk
    values: np.ndarray  # int16 (lengths.sum(),): the samples, chunk after chunk (ADC units)

    @property
    def n_chunks(self) -> int:
        return int(self.lengths.size)

    @property
    def n_samples(self) -> int:
        return int(self.values.size)

    @staticmethod
    def empty() -> ChunkBlock:
        z = np.zeros(0, np.int64)
        return ChunkBlock(np.zeros(0, np.int16), z, z, z, np.zeros(0, np.int16))

    def sample_times(self, fs: float) -> tuple[np.ndarray, np.ndarray]:
        """(epoch µs, stream index) of every sample, in `values` order."""
        starts = np.zeros(self.lengths.size + 1, np.int64)
        np.cumsum(self.lengths, out=starts[1:])
        j = np.arange(self.values.size, dtype=np.int64) - np.repeat(starts[:-1], self.lengths)
        t = np.repeat(self.time_us, self.lengths) + np.round(j * (1e6 / fs)).astype(np.int64)
        return t, np.repeat(self.sample_index, self.lengths) + j

    def place(self, fs: float, base_us: int, k0: int, n: int, n_leads: int
              ) -> tuple[np.ndarray, np.ndarray]:
        """The samples on the grid ``base_us + k * 1e6 / fs``, ``k`` in ``[k0, k0 + n)``:
        (adc (n, n_leads) int16 with INVALID where nothing is stored, valid (n, n_leads))."""
        adc = np.full((n, n_leads), INVALID, np.int16)
        valid = np.zeros((n, n_leads), bool)
        at = np.round((self.time_us - base_us) * (fs / 1e6)).astype(np.int64) - k0
        pos = 0
        for i in range(self.lengths.size):
            m = int(self.lengths[i])
            a, col = int(at[i]), int(self.signal_index[i])
            lo, hi = max(a, 0), min(a + m, n)
            if lo < hi and 0 <= col < n_leads:
                adc[lo:hi, col] = self.values[pos + lo - a : pos + hi - a]
                valid[lo:hi, col] = adc[lo:hi, col] != INVALID  # a stored "invalid sample" too
            pos += m
        return adc, valid


def parse_arrays(buffers: Sequence[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """(lengths, values) of PostgreSQL binary ``smallint[]`` values (``array_send``), without a
    Python object per element: rows of one length (the usual ~1 s chunks) in one strided view."""
    n = len(buffers)
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int16)
    sizes = np.fromiter((len(b) for b in buffers), np.int64, n)
    if (sizes == sizes[0]).all() and sizes[0] > _HEADER:
        raw = np.frombuffer(b"".join(buffers), np.uint8).reshape(n, int(sizes[0]))
        head = raw[:, :_HEADER].copy().view(">i4")  # ndim, hasnull, oid, length, lbound
        if not ((head[:, 0] == 1).all() and (head[:, 1] == 0).all()):
            raise ValueError("samples: expected one-dimensional arrays without NULLs")
        m = (int(sizes[0]) - _HEADER) // 6
        if head[0, 3] != m:
            raise ValueError(f"samples: array length {head[0, 3]} does not fill {sizes[0]} bytes")
        body = raw[:, _HEADER:].reshape(n, m, 6)
        values = body[:, :, 4:6].copy().view(">i2").reshape(n * m).astype(np.int16)
        return np.full(n, m, np.int64), values
    lengths = np.zeros(n, np.int64)
    parts = []
    for i, b in enumerate(buffers):
        head = np.frombuffer(b, ">i4", count=3)
        if head[0] == 0:  # an empty array
            parts.append(np.zeros(0, np.int16))
            continue
        if head[0] != 1 or head[1] != 0:
            raise ValueError("samples: expected one-dimensional arrays without NULLs")
        m = int(np.frombuffer(b, ">i4", count=1, offset=12)[0])
        rec = np.frombuffer(b, [("len", ">i4"), ("v", ">i2")], count=m, offset=_HEADER)
        parts.append(rec["v"].astype(np.int16))
        lengths[i] = m
    return lengths, np.concatenate(parts)


def block_from_rows(rows: Sequence[tuple[int, int, int, bytes]]) -> ChunkBlock:
    """A block from (signal index, time µs, sample index, array_send bytes) rows."""
    if not rows:
        return ChunkBlock.empty()
    sig, t, idx, bufs = zip(*rows, strict=True)
    lengths, values = parse_arrays(bufs)
    return ChunkBlock(np.asarray(sig, np.int16), np.asarray(t, np.int64), np.asarray(idx, np.int64),
                      lengths, values)
