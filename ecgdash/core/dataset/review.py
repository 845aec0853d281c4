"""Review strips: an alarm's 10 s on ECG paper (25 mm/s, 10 mm/mV; 1 mm and 5 mm grid), every
lead, our beats and the alarm's onset marked, as a PNG a clinician can confirm or reject."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ecgdash.core.dataset.chunks import INVALID
from ecgdash.core.dataset.layout import LeadInfo

MM_PER_S = 25.0
MM_PER_MV = 10.0
BAND_MM = 40.0  # paper height per lead (±2 mV)
DPI = 200


def render_strip(path: Path, adc: np.ndarray, fs: float, leads: tuple[LeadInfo, ...],
                 onset_s: float, beats_s: np.ndarray, title: str) -> None:
    """Write `adc` (n, leads; INVALID where nothing is stored) as a strip; `onset_s` and
    `beats_s` in seconds from the strip's first sample."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = adc.shape[0]
    width = n / fs * MM_PER_S
    height = BAND_MM * len(leads) + 8.0  # a title line
    fig = plt.figure(figsize=(width / 25.4, height / 25.4), dpi=DPI)
    ax = fig.add_axes((0, 0, 1, 1))  # data millimetres = paper millimetres
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.axis("off")
    for x in np.arange(0, width + 0.01, 1.0):
        major = round(x) % 5 == 0
        ax.axvline(x, color="#f4a6a6" if major else "#fbdcdc", lw=0.6 if major else 0.3, zorder=0)
    for y in np.arange(0, height + 0.01, 1.0):
        major = round(y) % 5 == 0
        ax.axhline(y, color="#f4a6a6" if major else "#fbdcdc", lw=0.6 if major else 0.3, zorder=0)
    t_mm = np.arange(n) / fs * MM_PER_S
    for i, lead in enumerate(leads):
        center = height - 8.0 - BAND_MM * (i + 0.5)
        raw = adc[:, i].astype(np.float64)
        mv = (raw - lead.baseline) / lead.gain
        mv[adc[:, i] == INVALID] = np.nan
        ax.plot(t_mm, center + mv * MM_PER_MV, color="black", lw=0.7, zorder=3)
        ax.text(1.5, center + BAND_MM / 2 - 4, lead.name, fontsize=7, zorder=4)
        # a 1 mV calibration pulse (10 mm high, 0.2 s wide) at the left
        ax.plot([0.5, 0.5, 5.5, 5.5], [center - 15, center - 5, center - 5, center - 15], color="black",
                lw=0.7, zorder=3)
        for b in beats_s:
            ax.plot(b * MM_PER_S, center + BAND_MM / 2 - 2, marker="v", color="#1f5fbf", ms=3, zorder=4)
    ax.axvline(onset_s * MM_PER_S, color="#d00000", lw=1.2, zorder=5)
    ax.text(onset_s * MM_PER_S + 1, height - 6.5, title, fontsize=7, color="#d00000", zorder=5)
    ax.text(width - 40, 1.5, "25 mm/s  10 mm/mV", fontsize=6, zorder=5)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
