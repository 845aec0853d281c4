"""Score QRS detectors on annotated WFDB records, ANSI/AAMI EC57 style, ours next to the peers.

Usage::

    python bench/qrs_accuracy.py --data-dir ../shared/data/mitdb --json bench/results/mitdb.json

Scoring (as PhysioNet's ``bxb``): reference beats are wfdb's QRS annotation symbols; ventricular
flutter/fibrillation episodes (``[`` to ``]``) are excluded; a detection matches the closest
unmatched reference beat within +-150 ms; Se = TP/(TP+FN), +P = TP/(TP+FP),
F1 = 2TP/(2TP+FN+FP); per record and gross (sums). Comparison starts after
``--learning-period`` seconds (EC57: 300) for long records. Paced MIT-BIH records
(102 104 107 217) are reported separately. Per-minute heart-rate error: for each whole minute
after the learning period, HR = 60 / mean RR of the beats whose RR ends in that minute, for the
reference and for the detector; the mean absolute difference in bpm.

Datasets are recognised per record: ``NNNeSS`` names are noise-stress records (SNR SS dB,
``_6`` = -6 dB); records with a lead-``ii`` annotation file are LUDB (reference = its ``N``
peaks, scored within the annotated span, no learning period); others use ``.atr``.

Peers run on the first lead (LUDB: lead ii) of the physical signal: ``wfdb.processing.XQRS``
and NeuroKit2's ``ecg_clean`` + ``ecg_peaks`` with the same method. "ours" uses all leads,
"ours-1lead" the same lead as the peers. Speed = lead-samples fed per second of one core.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import sys
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

import numpy as np

BEAT_SYMBOLS = frozenset("NLRaVFJASEj/QB?!enfr")
PACED = frozenset({"102", "104", "107", "217"})
TOLERANCE_S = 0.150
NK_METHODS = ("neurokit", "pantompkins1985", "hamilton2002", "elgendi2010", "engzeemod2012")
DETECTORS = ("ours", "ours-1lead", "xqrs", *(f"nk-{m}" for m in NK_METHODS))
NST_NAME = re.compile(r"^(\d{3})e(_\d|\d{2})$")


@dataclass(frozen=True)
class Reference:
    """A record's signal and reference beats (sample indices) within the scored span."""

    name: str
    group: str
    signal: np.ndarray  # (n, leads), physical units
    fs: float
    lead: int  # the lead given to single-lead detectors
    beats: np.ndarray
    span: tuple[int, int]  # scored [start, stop) in samples
    excluded: tuple[tuple[int, int], ...]  # VF episodes, samples


def group_of(name: str, data_dir: Path) -> str:
    m = NST_NAME.match(Path(name).name)
    if m:
        snr = m.group(2).replace("_", "-")
        return f"nstdb {int(snr):+d} dB"
    if (data_dir / f"{name}.ii").exists():
        return "ludb"
    return "paced" if Path(name).name in PACED else "records"


@lru_cache(maxsize=4)
def load(data_dir: str, name: str, learning_s: float) -> Reference:
    import wfdb

    path = str(Path(data_dir) / name)
    rec = wfdb.rdrecord(path)
    sig = np.asarray(rec.p_signal, dtype=np.float64)
    fs = float(rec.fs)
    group = group_of(name, Path(data_dir))
    if group == "ludb":
        ann = wfdb.rdann(path, "ii")
        lead = [s.lower() for s in rec.sig_name].index("ii")
        beats = np.array([s for s, y in zip(ann.sample, ann.symbol, strict=True) if y == "N"], dtype=np.int64)
        span = (int(ann.sample.min()), int(ann.sample.max()) + 1)
        return Reference(name, group, sig, fs, lead, beats, span, ())
    ann = wfdb.rdann(path, "atr")
    beats = np.array(
        [s for s, y in zip(ann.sample, ann.symbol, strict=True) if y in BEAT_SYMBOLS], dtype=np.int64
    )
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
    span = (int(round(learning_s * fs)), sig.shape[0])
    return Reference(name, group, sig, fs, 0, beats, span, tuple(vf))


# ----------------------------------------------------------------------------- detectors
def run_ours(sig: np.ndarray, fs: float) -> np.ndarray:
    from ecgdash.core.qrs import detect_beats

    return detect_beats(sig, fs)


def run_xqrs(x: np.ndarray, fs: float) -> np.ndarray:
    from wfdb import processing

    xq = processing.XQRS(sig=x, fs=fs)
    xq.detect(verbose=False)
    return np.asarray(xq.qrs_inds, dtype=np.int64)


def run_nk(method: str) -> Callable[[np.ndarray, float], np.ndarray]:
    def run(x: np.ndarray, fs: float) -> np.ndarray:
        import neurokit2 as nk

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clean = nk.ecg_clean(x, sampling_rate=int(round(fs)), method=method)
            _, info = nk.ecg_peaks(clean, sampling_rate=int(round(fs)), method=method)
        return np.asarray(info["ECG_R_Peaks"], dtype=np.int64)

    return run


@cache
def warm_up(det: str) -> None:
    """Import a detector's modules and run it once, so the timing excludes import costs."""
    x = np.sin(np.linspace(0, 60 * np.pi, 10_000))
    fn = {"ours": run_ours, "ours-1lead": run_ours, "xqrs": run_xqrs}.get(det)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with contextlib.suppress(Exception):  # only a warm-up
            (fn or run_nk(det.removeprefix("nk-")))(x, 360.0)


def detect(det: str, ref: Reference) -> tuple[np.ndarray, float, int]:
    """Run one detector; return beat indices, seconds taken, lead-samples fed."""
    if det == "ours":
        x, fn = ref.signal, run_ours
    else:
        x = np.ascontiguousarray(ref.signal[:, ref.lead])
        if det == "ours-1lead":
            fn = run_ours
        elif det == "xqrs":
            fn = run_xqrs
        else:
            fn = run_nk(det.removeprefix("nk-"))
    warm_up(det)
    t0 = time.perf_counter()
    try:
        beats = fn(x, ref.fs)
    except Exception as exc:  # a peer failing on a record is a result, not a crash
        print(f"warning: {det} failed on {ref.name}: {exc!r}", file=sys.stderr)
        beats = np.zeros(0, dtype=np.int64)
    return np.unique(np.asarray(beats, dtype=np.int64)), time.perf_counter() - t0, x.size


# ----------------------------------------------------------------------------- scoring
def in_scope(idx: np.ndarray, ref: Reference) -> np.ndarray:
    keep = (idx >= ref.span[0]) & (idx < ref.span[1])
    for a, b in ref.excluded:
        keep &= (idx < a) | (idx > b)
    return idx[keep]


def match(ref_beats: np.ndarray, det: np.ndarray, tol: int) -> int:
    """Number of one-to-one matches within +-tol samples, closest pairs first (as bxb)."""
    if ref_beats.size == 0 or det.size == 0:
        return 0
    pairs = []
    j0 = np.searchsorted(det, ref_beats - tol)
    for i, r in enumerate(ref_beats.tolist()):
        j = int(j0[i])
        while j < det.size and det[j] <= r + tol:
            pairs.append((abs(int(det[j]) - r), i, j))
            j += 1
    pairs.sort()
    used_r, used_d = set(), set()
    for _, i, j in pairs:
        if i not in used_r and j not in used_d:
            used_r.add(i)
            used_d.add(j)
    return len(used_r)


def minute_hr(beats: np.ndarray, fs: float, start: int, stop: int) -> dict[int, float]:
    """HR (bpm) per whole minute in [start, stop) from the RR intervals ending in it."""
    out: dict[int, float] = {}
    if beats.size < 2:
        return out
    rr = np.diff(beats) / fs
    ends = beats[1:]
    per_min = int(round(60 * fs))
    for m in range((stop - start) // per_min):
        a, b = start + m * per_min, start + (m + 1) * per_min
        sel = rr[(ends >= a) & (ends < b)]
        if sel.size:
            out[m] = 60.0 / float(sel.mean())
    return out


def score(ref: Reference, det_beats: np.ndarray) -> dict[str, float]:
    rb, db = in_scope(ref.beats, ref), in_scope(det_beats, ref)
    tp = match(rb, db, int(round(TOLERANCE_S * ref.fs)))
    res: dict[str, float] = {"tp": tp, "fn": rb.size - tp, "fp": db.size - tp}
    if ref.group != "ludb":
        hr_r = minute_hr(ref.beats, ref.fs, *ref.span)
        hr_d = minute_hr(det_beats, ref.fs, *ref.span)
        errs = [abs(hr_r[m] - hr_d.get(m, 0.0)) for m in hr_r]
        res["hr_abs_err_sum"] = float(sum(errs))
        res["hr_minutes"] = len(errs)
    return res


def rates(tp: float, fn: float, fp: float) -> dict[str, float]:
    return {
        "se": 100 * tp / max(tp + fn, 1),
        "ppv": 100 * tp / max(tp + fp, 1),
        "f1": 100 * 2 * tp / max(2 * tp + fn + fp, 1),
    }


def task(data_dir: str, name: str, det: str, learning_s: float) -> dict[str, object]:
    ref = load(data_dir, name, learning_s)
    beats, secs, samples = detect(det, ref)
    return {"record": name, "group": ref.group, "detector": det, "seconds": secs,
            "samples": samples, **score(ref, beats)}  # fmt: skip


# ----------------------------------------------------------------------------- report
def summarise(rows: list[dict[str, object]]) -> dict[str, dict[str, dict[str, float]]]:
    out: dict[str, dict[str, dict[str, float]]] = {}
    groups = sorted({str(r["group"]) for r in rows})
    for g in groups:
        out[g] = {}
        for det in DETECTORS:
            sel = [r for r in rows if r["group"] == g and r["detector"] == det]
            if not sel:
                continue
            tot = {k: float(sum(float(r.get(k, 0)) for r in sel))  # type: ignore[arg-type]
                   for k in ("tp", "fn", "fp", "seconds", "samples", "hr_abs_err_sum",
                             "hr_minutes")}  # fmt: skip
            s = rates(tot["tp"], tot["fn"], tot["fp"])
            s.update(tot)
            s["records"] = len(sel)
            s["hr_mae_bpm"] = tot["hr_abs_err_sum"] / tot["hr_minutes"] if tot["hr_minutes"] else float("nan")
            s["msamples_per_s"] = tot["samples"] / max(tot["seconds"], 1e-9) / 1e6
            out[g][det] = s
    return out


def print_table(summary: dict[str, dict[str, dict[str, float]]]) -> None:
    head = f"{'group':<14} {'detector':<20} {'Se %':>7} {'+P %':>7} {'F1 %':>7} " \
           f"{'FN':>6} {'FP':>6} {'HR err':>7} {'Msamp/s':>8}"  # fmt: skip
    print(head)
    print("-" * len(head))
    for g, dets in summary.items():
        for det, s in dets.items():
            print(f"{g:<14} {det:<20} {s['se']:7.2f} {s['ppv']:7.2f} {s['f1']:7.2f} "
                  f"{int(s['fn']):6d} {int(s['fp']):6d} {s['hr_mae_bpm']:7.2f} "
                  f"{s['msamples_per_s']:8.2f}")  # fmt: skip
        print()


def record_names(data_dir: Path, records: list[str] | None) -> list[str]:
    if records:
        return records
    listing = data_dir / "RECORDS"
    if listing.exists():
        names = [ln.strip().split("/")[-1] for ln in listing.read_text().split() if ln.strip()]
    else:
        names = sorted(p.stem for p in data_dir.glob("*.hea"))
    found = []
    for n in names:  # a RECORDS entry may live in a sub-folder (LUDB keeps them in data/)
        if (data_dir / f"{n}.hea").exists():
            found.append(n)
        else:
            hits = sorted(data_dir.rglob(f"{Path(n).name}.hea"))
            if hits:
                found.append(str(hits[0].relative_to(data_dir).with_suffix("")))
    return found


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", required=True, type=Path, help="folder of WFDB records")
    ap.add_argument("--records", nargs="*", help="record names (default: RECORDS or *.hea)")
    ap.add_argument("--json", type=Path, help="write per-record and summary results here")
    ap.add_argument(
        "--learning-period",
        type=float,
        default=300.0,
        help="seconds skipped at the start of long records (EC57: 300)",
    )
    ap.add_argument(
        "--detectors",
        nargs="*",
        default=list(DETECTORS),
        choices=DETECTORS,
        help="detectors to run (default: all)",
    )
    ap.add_argument(
        "--jobs",
        type=int,
        default=os.cpu_count() or 1,
        help="worker processes (each detector run is timed on one core)",
    )
    ap.add_argument("--per-record", action="store_true", help="also print per-record rows")
    args = ap.parse_args(argv)

    from tqdm import tqdm

    data_dir = args.data_dir.resolve()
    names = record_names(data_dir, args.records)
    if not names:
        ap.error(f"no WFDB records found in {data_dir}")
    # LUDB records are 10 s long: the learning period does not apply to them
    todo = [(str(data_dir), n, d,
             0.0 if group_of(n, data_dir) == "ludb" else args.learning_period)
            for n in names for d in args.detectors]  # fmt: skip
    rows: list[dict[str, object]] = []
    if args.jobs <= 1:
        for t in tqdm(todo, desc="records x detectors"):
            rows.append(task(*t))
    else:
        with ProcessPoolExecutor(args.jobs) as pool:
            futs = [pool.submit(task, *t) for t in todo]
            for f in tqdm(as_completed(futs), total=len(futs), desc="records x detectors"):
                rows.append(f.result())
    rows.sort(key=lambda r: (str(r["record"]), DETECTORS.index(str(r["detector"]))))
    if args.per_record:
        for r in rows:
            s = rates(float(r["tp"]), float(r["fn"]), float(r["fp"]))  # type: ignore[arg-type]
            print(
                f"{r['record']:>8} {r['detector']:<20} Se {s['se']:7.2f} +P {s['ppv']:7.2f} "
                f"FN {int(r['fn']):5d} FP {int(r['fp']):5d}"
            )  # type: ignore[call-overload]
    summary = summarise(rows)
    print_table(summary)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"data_dir": str(data_dir),
                                         "learning_period_s": args.learning_period,
                                         "tolerance_s": TOLERANCE_S, "summary": summary,
                                         "records": rows}, indent=1))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
