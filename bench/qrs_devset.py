"""The QRS detector's development set: the shared records, their folds, and transformed copies.

One :class:`Case` is a signal with its reference beats and the span that is scored. Cases come from
the shared PhysioNet data (``../shared/data`` next to the repository, or ``$ECG_SHARED_DATA``):

* ``records`` - the 22 non-paced MIT-BIH records; ``paced`` - the four paced ones (102 104 107 217);
* ``nstdb SNR`` - the noise stress records (118 and 119 with electrode-motion noise);
* ``ludb`` - the LUDB records (12 leads, 500 Hz, 10 s; reference = lead ii's QRS marks);
* transformation groups, each built from all 26 MIT-BIH records (see :data:`TRANSFORMS`).

Folds (for cross-validation: tune on one, report the other). Every group has a fold A and B, fixed
by the source record and never by results: the non-paced MIT-BIH records sorted by number
alternate A, B, A, ... (101 A, 106 B, 108 A, ...), and so do the paced ones (102 A, 104 B, 107 A,
217 B); an NSTDB record takes the fold of its clean source (118 A, 119 B); LUDB odd record numbers
are A, even B; a transformed record keeps the fold of its source.

Transformations are deterministic (seeded by the record name). The detector never sees the
reference beats; only the tall-P/T surrogate uses them, to place the waves it adds.
"""

from __future__ import annotations

import os
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

import numpy as np

BEAT_SYMBOLS = frozenset("NLRaVFJASEj/QB?!enfr")  # wfdb's QRS annotation symbols
PACED = ("102", "104", "107", "217")
LEARNING_S = 300.0  # EC57 learning period for long records
NST_NAME = re.compile(r"^(\d{3})e(_\d|\d{2})$")
ENV = "ECG_SHARED_DATA"


def shared_data_dir() -> Path | None:
    """The shared PhysioNet data: ``$ECG_SHARED_DATA``, else ``../shared/data`` beside the repo."""
    env = os.environ.get(ENV)
    if env:
        p = Path(env)
        return p if p.is_dir() else None
    p = Path(__file__).resolve().parents[1].parent / "shared" / "data"
    return p if (p / "mitdb").is_dir() else None


@dataclass(frozen=True)
class Case:
    """A signal to detect beats in, with the reference and what is scored."""

    name: str  # e.g. "119", "118e06", "ludb/7", "119@250Hz"
    group: str  # e.g. "records", "nstdb +6 dB", "fs 250"
    fold: str  # "A" or "B"
    signal: np.ndarray  # (n, leads), physical units (mV)
    fs: float
    lead: int  # the lead given to single-lead detectors (the peers' lead)
    beats: np.ndarray  # reference R peaks, samples
    span: tuple[int, int]  # scored [start, stop), samples
    excluded: tuple[tuple[int, int], ...] = ()  # VF episodes, samples (not scored)


# ----------------------------------------------------------------------------- folds
def mitdb_fold(record: str, names: list[str]) -> str:
    """A/B alternating over the sorted non-paced (or paced) MIT-BIH record numbers."""
    pool = sorted(n for n in names if (n in PACED) == (record in PACED))
    return "AB"[pool.index(record) % 2]


def ludb_fold(record: str) -> str:
    return "A" if int(Path(record).name) % 2 else "B"


# ----------------------------------------------------------------------------- loading
def _records(folder: Path) -> list[str]:
    listing = folder / "RECORDS"
    if listing.exists():
        names = [ln.strip() for ln in listing.read_text().split() if ln.strip()]
    else:
        names = sorted(p.stem for p in folder.glob("*.hea"))
    out = []
    for n in names:  # LUDB lists "data/7" or "7"
        if (folder / f"{n}.hea").exists():
            out.append(n)
        else:
            hits = sorted(folder.rglob(f"{Path(n).name}.hea"))
            if hits:
                out.append(str(hits[0].relative_to(folder).with_suffix("")))
    return out


def mitdb_names(root: Path) -> list[str]:
    return _records(root / "mitdb")


@lru_cache(maxsize=4)
def load_mitdb(root: str, record: str) -> Case:
    """A MIT-BIH (or NSTDB) record: physical signal, .atr beats, VF episodes excluded."""
    import wfdb

    m = NST_NAME.match(record)
    folder = Path(root) / ("nstdb" if m else "mitdb")
    path = str(folder / record)
    rec = wfdb.rdrecord(path)
    sig = np.asarray(rec.p_signal, dtype=np.float64)
    ann = wfdb.rdann(path, "atr")
    beats = np.array([s for s, y in zip(ann.sample, ann.symbol, strict=True) if y in BEAT_SYMBOLS],
                     dtype=np.int64)  # fmt: skip
    vf: list[tuple[int, int]] = []
    start = None
    for s, y in zip(ann.sample, ann.symbol, strict=True):
        if y == "[":
            start = int(s)
        elif y == "]" and start is not None:
            vf.append((start, int(s)))
            start = None
    if start is not None:
        vf.append((start, sig.shape[0]))
    fs = float(rec.fs)
    names = mitdb_names(Path(root))
    if m:
        snr = int(m.group(2).replace("_", "-"))
        group, fold = f"nstdb {snr:+d} dB", mitdb_fold(m.group(1), names)
    else:
        group = "paced" if record in PACED else "records"
        fold = mitdb_fold(record, names)
    span = (int(round(LEARNING_S * fs)), sig.shape[0])
    return Case(record, group, fold, sig, fs, 0, beats, span, tuple(vf))


@lru_cache(maxsize=4)
def load_ludb(root: str, record: str) -> Case:
    """A LUDB record: 12 leads; reference = lead ii's QRS peaks, scored within their span."""
    import wfdb

    path = str(Path(root) / "ludb" / record)
    rec = wfdb.rdrecord(path)
    ann = wfdb.rdann(path, "ii")
    lead = [s.lower() for s in rec.sig_name].index("ii")
    beats = np.array([s for s, y in zip(ann.sample, ann.symbol, strict=True) if y == "N"], dtype=np.int64)
    span = (int(ann.sample.min()), int(ann.sample.max()) + 1)
    sig = np.asarray(rec.p_signal, dtype=np.float64)
    return Case(f"ludb/{Path(record).name}", "ludb", ludb_fold(record), sig, float(rec.fs), lead, beats,
                span)  # fmt: skip


# ----------------------------------------------------------------------------- transformations
def _rng(case: Case, salt: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(f"{case.name}/{salt}".encode()))


def resample(case: Case, fs_new: float) -> Case:
    """Polyphase resampling of the signal; beats, span and excluded spans rescaled."""
    from scipy import signal

    r = Fraction(fs_new / case.fs).limit_denominator(1000)
    y = signal.resample_poly(case.signal, r.numerator, r.denominator, axis=0)
    k = fs_new / case.fs

    def sc(v: np.ndarray | int) -> np.ndarray:
        return np.round(np.asarray(v) * k).astype(np.int64)

    return replace(case, signal=y, fs=float(fs_new), beats=sc(case.beats),
                   span=(int(sc(case.span[0])), int(sc(case.span[1]))),
                   excluded=tuple((int(sc(a)), int(sc(b))) for a, b in case.excluded))  # fmt: skip


def gain(case: Case, per_lead: tuple[float, ...]) -> Case:
    g = np.resize(np.asarray(per_lead, dtype=np.float64), case.signal.shape[1])
    return replace(case, signal=case.signal * g)


def baseline_wander(case: Case) -> Case:
    """Respiration (0.15-0.4 Hz, 0.5-1 mV) and a slow drift (0.03-0.08 Hz, 1-2 mV) per lead."""
    rng = _rng(case, "bw")
    n, L = case.signal.shape
    t = np.arange(n) / case.fs
    add = np.zeros((n, L))
    for lead in range(L):
        for lo, hi, amp_lo, amp_hi in ((0.15, 0.4, 0.5, 1.0), (0.03, 0.08, 1.0, 2.0)):
            f, a, ph = rng.uniform(lo, hi), rng.uniform(amp_lo, amp_hi), rng.uniform(0, 2 * np.pi)
            add[:, lead] += a * np.sin(2 * np.pi * f * t + ph)
    return replace(case, signal=case.signal + add)


def mains(case: Case, f0: float) -> Case:
    """Mains interference: 0.3 mV at ``f0`` (amplitude slowly varying +-30 %) plus 10 % of its
    second harmonic where the sampling rate allows."""
    rng = _rng(case, f"mains{f0}")
    n, L = case.signal.shape
    t = np.arange(n) / case.fs
    add = np.zeros((n, L))
    for lead in range(L):
        env = 0.3 * (1 + 0.3 * np.sin(2 * np.pi * rng.uniform(0.01, 0.05) * t + rng.uniform(0, 6)))
        ph = rng.uniform(0, 2 * np.pi)
        add[:, lead] = env * np.sin(2 * np.pi * f0 * t + ph)
        if 2 * f0 < 0.5 * case.fs:
            add[:, lead] += 0.1 * env * np.sin(2 * np.pi * 2 * f0 * t + 2 * ph)
    return replace(case, signal=case.signal + add)


def _qrs_pp(case: Case) -> np.ndarray:
    """Mean peak-to-peak QRS amplitude per lead over the reference beats (+-50 ms)."""
    x, h = case.signal, int(round(0.05 * case.fs))
    b = case.beats[(case.beats >= h) & (case.beats < x.shape[0] - h)]
    idx = b[:, None] + np.arange(-h, h + 1)
    seg = x[idx]  # (beats, 2h+1, leads)
    return (seg.max(axis=1) - seg.min(axis=1)).mean(axis=0)


# nst's SNR (as it wrote the NSTDB records) is this far above 10 log10(S/N) with S = (mean QRS
# peak-to-peak)^2 / 8 and N = the noise's mean square during its segments: measured on 118e* and
# 119e* against 118 and 119 (lead 0: 13.93/13.78, lead 1: 10.00/9.17 dB at every SNR).
NST_OFFSET_DB = (13.85, 9.6)


@lru_cache(maxsize=1)
def em_noise(root: str) -> np.ndarray:
    """NSTDB's electrode-motion noise track, (650000, 2) at 360 Hz, unit mean square in its
    segments and exactly 0 elsewhere: ``118e_6 - 118``, whose noise is on for 2 min every 4 min
    from minute 5 (NSTDB's schedule)."""
    import wfdb

    a = wfdb.rdrecord(str(Path(root) / "nstdb" / "118e_6"), physical=False).d_signal.astype(np.float64)
    b = wfdb.rdrecord(str(Path(root) / "mitdb" / "118"), physical=False).d_signal.astype(np.float64)
    d = a - b
    on = noise_schedule(d.shape[0], 360.0)
    d -= np.median(d[~on], axis=0)  # nst leaves a constant offset outside the noise segments
    d[~on] = 0.0
    return d / np.sqrt(np.mean(d[on] ** 2, axis=0))


def noise_schedule(n: int, fs: float) -> np.ndarray:
    t = np.arange(n) / fs / 60.0
    return (t >= 5) & (((t - 5) % 4) < 2)


def add_em_noise(case: Case, snr_db: float, root: str) -> Case:
    """NSTDB's electrode-motion noise added as ``nst`` does (its SNR, its 2-min schedule)."""
    noise = em_noise(root)
    n = min(case.signal.shape[0], noise.shape[0])
    L = case.signal.shape[1]
    s = _qrs_pp(case) ** 2 / 8
    off = np.resize(np.asarray(NST_OFFSET_DB), L)
    k = np.sqrt(s / 10 ** ((snr_db - off) / 10))
    y = case.signal.copy()
    y[:n] += noise[:n, np.arange(L) % noise.shape[1]] * k
    return replace(case, signal=y)


def tall_pt(case: Case, lead: int, qrs: float = 0.4, t_amp: float = 1.2, p_amp: float = 0.6) -> Case:
    """Replace ``lead`` by a surrogate with small QRS and tall P and T waves (as in V1 with AV
    block): the other lead's signal at ``qrs`` (0.4x), plus per beat a T wave ``t_amp`` (1.2x)
    its QRS peak-to-peak (Gaussian, sd 45 ms, 0.2 s + 0.15 RR after the R peak) and a P wave
    ``p_amp`` (0.6x; sd 22 ms, 0.16 s before it); and every other RR interval a second,
    non-conducted P wave in the middle. ``bench/qrs_tallpt_sweep.py`` varies the three."""
    src = 1 - lead if case.signal.shape[1] > 1 else lead
    x = case.signal[:, src]
    fs, n = case.fs, x.shape[0]
    pp = float(_qrs_pp(case)[src])
    rng = _rng(case, f"tallpt{lead}")
    y = qrs * (x - np.median(x))
    t = np.arange(n)
    add = np.zeros(n)
    b = case.beats
    rr = np.diff(b, append=b[-1] + int(fs)) if b.size else np.zeros(0)

    def bump(center: float, sd_s: float, amp: float) -> None:
        sd = sd_s * fs
        lo, hi = int(max(0, center - 4 * sd)), int(min(n, center + 4 * sd + 1))
        if hi > lo:
            add[lo:hi] += amp * np.exp(-0.5 * ((t[lo:hi] - center) / sd) ** 2)

    for i, (r, d) in enumerate(zip(b.tolist(), rr.tolist(), strict=True)):
        d = min(d, 2 * fs)
        bump(r + 0.2 * fs + 0.15 * d, 0.045, t_amp * pp * rng.uniform(0.9, 1.1))
        bump(r - 0.16 * fs, 0.022, p_amp * pp * rng.uniform(0.9, 1.1))
        if i % 2 and d > 0.7 * fs:
            bump(r + 0.5 * d, 0.022, p_amp * pp * rng.uniform(0.9, 1.1))
    sig = case.signal.copy()
    sig[:, lead] = y + add
    return replace(case, signal=sig)


Transform = Callable[[Case, str], Case]
TRANSFORMS: dict[str, Transform] = {
    "fs 125": lambda c, r: resample(c, 125.0),
    "fs 250": lambda c, r: resample(c, 250.0),
    "fs 500": lambda c, r: resample(c, 500.0),
    "fs 1000": lambda c, r: resample(c, 1000.0),
    "gain x0.25": lambda c, r: gain(c, (0.25,)),
    "gain x4": lambda c, r: gain(c, (4.0,)),
    "gain x0.25/x4": lambda c, r: gain(c, (0.25, 4.0)),
    "inverted": lambda c, r: replace(c, signal=-c.signal),
    "leads swapped": lambda c, r: replace(c, signal=np.ascontiguousarray(c.signal[:, ::-1])),
    "baseline wander": lambda c, r: baseline_wander(c),
    "mains 50 Hz": lambda c, r: mains(c, 50.0),
    "mains 60 Hz": lambda c, r: mains(c, 60.0),
    "em +12 dB": lambda c, r: add_em_noise(c, 12.0, r),
    "em +6 dB": lambda c, r: add_em_noise(c, 6.0, r),
    "em +0 dB": lambda c, r: add_em_noise(c, 0.0, r),
    "tall P/T lead 2": lambda c, r: tall_pt(c, 1),
    "tall P/T lead 1": lambda c, r: tall_pt(c, 0),
}


def transformed(root: str, record: str, transform: str) -> Case:
    """MIT-BIH ``record`` under ``transform`` (a key of :data:`TRANSFORMS`)."""
    base = load_mitdb(root, record)
    out = TRANSFORMS[transform](base, root)
    return replace(out, name=f"{record}@{transform.replace(' ', '')}", group=transform)


# ----------------------------------------------------------------------------- the whole set
@dataclass(frozen=True)
class CaseId:
    """Cheap handle of a case (built in the worker that scores it)."""

    kind: str  # "mitdb", "nstdb", "ludb" or "transform"
    record: str
    group: str
    fold: str
    transform: str = ""


def case_ids(root: Path, groups: set[str] | None = None) -> list[CaseId]:
    """Every case of the dev set (optionally only some groups), in a stable order."""
    out: list[CaseId] = []
    mit = mitdb_names(root)
    for r in mit:
        g = "paced" if r in PACED else "records"
        out.append(CaseId("mitdb", r, g, mitdb_fold(r, mit)))
    if (root / "nstdb").is_dir():
        for r in _records(root / "nstdb"):
            m = NST_NAME.match(r)
            if m:
                snr = int(m.group(2).replace("_", "-"))
                out.append(CaseId("nstdb", r, f"nstdb {snr:+d} dB", mitdb_fold(m.group(1), mit)))
    if (root / "ludb").is_dir():
        for r in _records(root / "ludb"):
            out.append(CaseId("ludb", r, "ludb", ludb_fold(r)))
    for t in TRANSFORMS:
        for r in mit:
            out.append(CaseId("transform", r, t, mitdb_fold(r, mit), t))
    if groups:
        out = [c for c in out if c.group in groups]
    return out


def build(root: Path, cid: CaseId) -> Case:
    if cid.kind in ("mitdb", "nstdb"):
        return load_mitdb(str(root), cid.record)
    if cid.kind == "ludb":
        return load_ludb(str(root), cid.record)
    return transformed(str(root), cid.record, cid.transform)
