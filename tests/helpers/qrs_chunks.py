"""Streaming = offline, checked on one signal: the detector fed in whole blocks against random
chunks with state round trips and against 97-sample chunks (no chunk then holds a whole window,
so every quality window closes one at a time: the one-window path against the block path)."""

from __future__ import annotations

import numpy as np

from ecgdash.core.qrs import StreamingQRSDetector


def assert_chunk_invariant(x: np.ndarray, fs: float, seed: int = 7) -> None:
    """Beats and quality windows of ``x`` (samples x leads) are the same in every chunking."""
    one = StreamingQRSDetector(fs, x.shape[1])
    res, end = one.process(x), one.finish()  # whole windows in blocks
    want, want_w = res.beats + end.beats, res.windows + end.windows
    rng = np.random.default_rng(seed)
    for sizes in (lambda: int(rng.integers(1, 3000)), lambda: 97):
        det, got, got_w, i = StreamingQRSDetector(fs, x.shape[1]), [], [], 0
        while i < x.shape[0]:
            n = sizes()
            r = det.process(x[i : i + n])
            got, got_w, i = got + r.beats, got_w + r.windows, i + n
            if rng.random() < 0.05:
                det = StreamingQRSDetector.from_bytes(det.to_bytes())
        r = det.finish()
        assert got + r.beats == want
        # the windows' floors are relative to the QRS reference: they show a hold that differs
        assert got_w + r.windows == want_w
