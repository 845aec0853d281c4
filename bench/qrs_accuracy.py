"""Score QRS detectors on the dev set, ANSI/AAMI EC57 style: ours (all leads, one lead, the best
single lead) next to the peers, per group and per cross-validation fold.

Usage::

    python bench/qrs_accuracy.py --data-dir ../shared/data --jobs 2 --json bench/results/qrs.json
    python bench/qrs_accuracy.py --data-dir ../shared/data --groups records paced --peers none \\
        --baseline bench/results/qrs.json          # a change judged fold by fold

The dev set (``bench/qrs_devset.py``): the shared MIT-BIH records (``records``, ``paced``), NSTDB
(``nstdb SNR``), LUDB (``ludb``) and transformed copies of the 26 MIT-BIH records (resampled,
gains, inverted, leads swapped, baseline wander, mains, NSTDB noise added, a tall-P/T lead). Every
group is split into folds A and B by record (never by result); the table prints both.

Scoring (as PhysioNet's ``bxb``): reference beats are wfdb's QRS annotation symbols; ventricular
flutter/fibrillation episodes (``[`` to ``]``) are excluded; a detection matches the closest
unmatched reference beat within +-150 ms; Se = TP/(TP+FN), +P = TP/(TP+FP),
F1 = 2TP/(2TP+FN+FP); per record and gross (sums). Comparison starts after 300 s (EC57) for
MIT-BIH-length records; LUDB is scored within its annotated span. Per-minute heart-rate error: for
each whole minute after the learning period, HR = 60 / mean RR of the beats whose RR ends in that
minute, for the reference and for the detector; the mean absolute difference in bpm, over the
minutes that do not overlap an excluded VF episode (the reference has no beats there).

Detectors: ``ours`` = all leads (what the pipeline runs); ``ours-1lead`` = the peers' lead (first
lead; LUDB lead ii); ``ours-best1`` = per record the best of ours on each single lead (an oracle:
the all-lead result should not be below it). Peers run on the peers' lead:
``wfdb.processing.XQRS`` and NeuroKit2's ``ecg_clean`` + ``ecg_peaks`` per method. Peers do not
change between runs, so their per-record results are cached (``--peers``). Speed = lead-samples
fed per CPU second of the worker process (one core; ``--jobs 1`` keeps the workers from
competing).

``--baseline OLD.json`` prints, per group and fold, how ours and ours-1lead changed against an
earlier run and whether the change passes the cross-validation rule: no held-back fold of any group
gets worse (F1 lower by more than ``--tolerance`` percentage points).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from functools import cache
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import qrs_devset as devset  # noqa: E402  (a sibling script, not an installed module)

TOLERANCE_S = 0.150
NK_METHODS = ("neurokit", "pantompkins1985", "hamilton2002", "elgendi2010", "engzeemod2012", "kalidas2017")
OURS = ("ours", "ours-1lead", "ours-best1")
PEERS = ("xqrs", *(f"nk-{m}" for m in NK_METHODS))
DETECTORS = (*OURS, *PEERS)
PEER_CACHE = Path(__file__).resolve().parent / "results" / "qrs_peers.json"


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


def peer_fn(det: str) -> Callable[[np.ndarray, float], np.ndarray]:
    return run_xqrs if det == "xqrs" else run_nk(det.removeprefix("nk-"))


@cache
def warm_up(det: str) -> None:
    """Import a detector's modules and run it once, so the timing excludes import costs."""
    x = np.sin(np.linspace(0, 60 * np.pi, 10_000))
    fn = run_ours if det in OURS else peer_fn(det)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with contextlib.suppress(Exception):  # only a warm-up
            fn(x, 360.0)


def timed(fn: Callable[[np.ndarray, float], np.ndarray], x: np.ndarray, fs: float,
          det: str, name: str) -> tuple[np.ndarray, float]:  # fmt: skip
    t0 = time.process_time()  # CPU time of this process: one core, whatever else the machine runs
    try:
        beats = fn(x, fs)
    except Exception as exc:  # a peer failing on a record is a result, not a crash
        print(f"warning: {det} failed on {name}: {exc!r}", file=sys.stderr)
        beats = np.zeros(0, dtype=np.int64)
    return np.unique(np.asarray(beats, dtype=np.int64)), time.process_time() - t0


# ----------------------------------------------------------------------------- scoring
def in_scope(idx: np.ndarray, case: devset.Case) -> np.ndarray:
    keep = (idx >= case.span[0]) & (idx < case.span[1])
    for a, b in case.excluded:
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


def score(case: devset.Case, det_beats: np.ndarray) -> dict[str, float]:
    rb, db = in_scope(case.beats, case), in_scope(det_beats, case)
    tp = match(rb, db, int(round(TOLERANCE_S * case.fs)))
    res: dict[str, float] = {"tp": tp, "fn": rb.size - tp, "fp": db.size - tp}
    if case.span[1] - case.span[0] >= 60 * case.fs:
        hr_r = minute_hr(case.beats, case.fs, *case.span)
        hr_d = minute_hr(det_beats, case.fs, *case.span)
        per_min = int(round(60 * case.fs))
        # a minute that overlaps a VF episode has no reference heart rate (EC57 excludes them)
        vf = {m for a, b in case.excluded for m in hr_r
              if a < case.span[0] + (m + 1) * per_min and b >= case.span[0] + m * per_min}  # fmt: skip
        errs = [abs(hr_r[m] - hr_d.get(m, 0.0)) for m in hr_r if m not in vf]
        res["hr_abs_err_sum"] = float(sum(errs))
        res["hr_minutes"] = len(errs)
    return res


def rates(tp: float, fn: float, fp: float) -> dict[str, float]:
    return {
        "se": 100 * tp / max(tp + fn, 1),
        "ppv": 100 * tp / max(tp + fp, 1),
        "f1": 100 * 2 * tp / max(2 * tp + fn + fp, 1),
    }


def f1_of(row: dict[str, float]) -> float:
    return rates(row["tp"], row["fn"], row["fp"])["f1"]


def task(root: str, cid: devset.CaseId, dets: tuple[str, ...]) -> list[dict[str, object]]:
    """Build one case and run the detectors on it; one result row per detector."""
    case = devset.build(Path(root), cid)
    head = {"record": case.name, "group": cid.group, "fold": cid.fold, "case": f"{cid.group}|{cid.record}"}
    rows: list[dict[str, object]] = []
    one = np.ascontiguousarray(case.signal[:, case.lead])
    for det in dets:
        warm_up(det)
        if det == "ours-best1":  # ours on every lead alone; keep the best lead's counts
            best: dict[str, object] | None = None
            for lead in range(case.signal.shape[1]):
                x = np.ascontiguousarray(case.signal[:, lead])
                beats, secs = timed(run_ours, x, case.fs, det, case.name)
                r = {**head, "detector": det, "lead": lead, "seconds": secs, "samples": x.size,
                     **score(case, beats)}  # fmt: skip
                if best is None or f1_of(r) > f1_of(best):  # type: ignore[arg-type]
                    best = r
            assert best is not None
            rows.append(best)
            continue
        x = case.signal if det == "ours" else one
        fn = run_ours if det in OURS else peer_fn(det)
        beats, secs = timed(fn, x, case.fs, det, case.name)
        rows.append({**head, "detector": det, "seconds": secs, "samples": x.size, **score(case, beats)})
    return rows


# ----------------------------------------------------------------------------- report
SUMS = ("tp", "fn", "fp", "seconds", "samples", "hr_abs_err_sum", "hr_minutes")


def totals(sel: list[dict[str, object]]) -> dict[str, float]:
    tot = {k: float(sum(float(r.get(k, 0)) for r in sel)) for k in SUMS}  # type: ignore[arg-type]
    s = rates(tot["tp"], tot["fn"], tot["fp"])
    s.update(tot)
    s["records"] = len(sel)
    s["hr_mae_bpm"] = tot["hr_abs_err_sum"] / tot["hr_minutes"] if tot["hr_minutes"] else float("nan")
    s["msamples_per_s"] = tot["samples"] / max(tot["seconds"], 1e-9) / 1e6
    return s


def group_order(g: str) -> tuple[int, str]:
    fixed = ["records", "paced", "ludb"]
    if g in fixed:
        return (fixed.index(g), g)
    if g.startswith("nstdb"):
        return (3, f"{100 - int(g.split()[1]):04d}")
    return (4 + list(devset.TRANSFORMS).index(g), g) if g in devset.TRANSFORMS else (99, g)


def summarise(rows: list[dict[str, object]]) -> dict[str, dict[str, dict[str, dict[str, float]]]]:
    """group -> detector -> fold ("A", "B", "all") -> totals."""
    out: dict[str, dict[str, dict[str, dict[str, float]]]] = {}
    for g in sorted({str(r["group"]) for r in rows}, key=group_order):
        out[g] = {}
        for det in DETECTORS:
            sel = [r for r in rows if r["group"] == g and r["detector"] == det]
            if not sel:
                continue
            out[g][det] = {"all": totals(sel)}
            for fold in ("A", "B"):
                fs = [r for r in sel if r["fold"] == fold]
                if fs:
                    out[g][det][fold] = totals(fs)
    return out


def print_table(summary: dict[str, dict[str, dict[str, dict[str, float]]]]) -> None:
    head = (f"{'group':<16} {'detector':<19} {'F1 A':>6} {'F1 B':>6} | {'Se %':>6} {'+P %':>6} "
            f"{'F1 %':>6} {'FN':>5} {'FP':>5} {'HR err':>6} {'Msamp/s':>7}")  # fmt: skip
    print(head)
    print("-" * len(head))
    for g, dets in summary.items():
        for det, folds in dets.items():
            s = folds["all"]
            fa = f"{folds['A']['f1']:6.2f}" if "A" in folds else f"{'':6}"
            fb = f"{folds['B']['f1']:6.2f}" if "B" in folds else f"{'':6}"
            print(f"{g:<16} {det:<19} {fa} {fb} | {s['se']:6.2f} {s['ppv']:6.2f} {s['f1']:6.2f} "
                  f"{int(s['fn']):5d} {int(s['fp']):5d} {s['hr_mae_bpm']:6.2f} "
                  f"{s['msamples_per_s']:7.2f}")  # fmt: skip
        print()


def fusion_losses(rows: list[dict[str, object]], tol: float) -> list[tuple[str, str, float, float]]:
    """Records where ours (all leads) is below the best single lead by more than ``tol`` F1 points."""
    by = {(r["group"], r["record"], r["detector"]): r for r in rows}
    out = []
    for (g, rec, det), r in by.items():
        if det != "ours" or (g, rec, "ours-best1") not in by:
            continue
        a, b = f1_of(r), f1_of(by[(g, rec, "ours-best1")])  # type: ignore[arg-type]
        if a < b - tol:
            out.append((str(g), str(rec), a, b))
    return out


def compare(summary: dict, base: dict, tol: float) -> bool:
    """Print per group and fold the change of ours against ``base``; True if no fold is worse."""
    ok, better = True, False
    print(f"{'group':<16} {'detector':<11} {'fold':<4} {'F1 old':>7} {'F1 new':>7} {'dFN':>5} {'dFP':>5}")
    for g, dets in summary.items():
        for det in ("ours", "ours-1lead"):
            for fold in ("A", "B"):
                new = dets.get(det, {}).get(fold)
                old = base.get(g, {}).get(det, {}).get(fold)
                if not new or not old:
                    continue
                d = new["f1"] - old["f1"]
                dfn, dfp = int(new["fn"] - old["fn"]), int(new["fp"] - old["fp"])
                if dfn == 0 and dfp == 0:
                    continue
                mark = ""
                if d < -tol:
                    ok, mark = False, "  WORSE"
                elif d > 0:
                    better = True
                print(
                    f"{g:<16} {det:<11} {fold:<4} {old['f1']:7.3f} {new['f1']:7.3f} {dfn:+5d} {dfp:+5d}{mark}"
                )
    verdict = "accept" if ok and better else ("no change" if ok else "reject")
    print(f"cross-validation verdict: {verdict} (a fold is worse when its F1 drops by more than {tol})")
    return ok


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", type=Path, default=devset.shared_data_dir(),
                    help=f"the shared data folder holding mitdb/ nstdb/ ludb/ (default: ${devset.ENV} "
                         "or ../shared/data)")  # fmt: skip
    ap.add_argument("--groups", nargs="*", help="only these groups (default: all)")
    ap.add_argument("--records", nargs="*", help="only these MIT-BIH/NSTDB/LUDB record names")
    ap.add_argument("--detectors", nargs="*", default=list(DETECTORS), choices=DETECTORS)
    ap.add_argument(
        "--peers",
        choices=("cache", "run", "none"),
        default="cache",
        help=f"peers: reuse results cached in {PEER_CACHE.name} (default), rerun, or skip",
    )
    ap.add_argument(
        "--jobs",
        type=int,
        default=os.cpu_count() or 1,
        help="worker processes (each detector run is timed on one core)",
    )
    ap.add_argument("--json", type=Path, help="write per-record and summary results here")
    ap.add_argument("--baseline", type=Path, help="an earlier --json output to compare ours against")
    ap.add_argument("--tolerance", type=float, default=0.0, help="F1 points a fold may lose (--baseline)")
    ap.add_argument(
        "--fusion-tolerance",
        type=float,
        default=0.05,
        help="list records where all leads fall this many F1 points below the best lead",
    )
    ap.add_argument("--per-record", action="store_true", help="also print per-record rows")
    args = ap.parse_args(argv)

    from tqdm import tqdm

    if args.data_dir is None or not (args.data_dir / "mitdb").is_dir():
        ap.error(f"no shared data: pass --data-dir (the folder with mitdb/) or set ${devset.ENV}")
    root = args.data_dir.resolve()
    cids = devset.case_ids(root, set(args.groups) if args.groups else None)
    if args.records:
        want = set(args.records)
        cids = [c for c in cids if c.record in want or Path(c.record).name in want]
    if not cids:
        ap.error("no case matches --groups/--records")
    dets = tuple(d for d in args.detectors if args.peers != "none" or d in OURS)
    cache_rows: dict[str, dict[str, object]] = {}
    if args.peers == "cache" and PEER_CACHE.exists():
        cache_rows = json.loads(PEER_CACHE.read_text())
    rows: list[dict[str, object]] = []
    todo = []
    for c in cids:
        need = []
        for d in dets:
            key = f"{c.group}|{c.record}|{d}"
            if d in PEERS and key in cache_rows:
                rows.append(cache_rows[key])
            else:
                need.append(d)
        if need:
            todo.append((str(root), c, tuple(need)))
    if args.jobs <= 1:
        for t in tqdm(todo, desc="cases"):
            rows += task(*t)
    else:
        with ProcessPoolExecutor(args.jobs) as pool:
            futs = [pool.submit(task, *t) for t in todo]
            for f in tqdm(as_completed(futs), total=len(futs), desc="cases"):
                rows += f.result()
    if args.peers != "none":
        for r in rows:
            if r["detector"] in PEERS:
                cache_rows[f"{r['case']}|{r['detector']}"] = r
        PEER_CACHE.parent.mkdir(parents=True, exist_ok=True)
        PEER_CACHE.write_text(json.dumps(cache_rows))
    rows.sort(
        key=lambda r: (group_order(str(r["group"])), str(r["record"]), DETECTORS.index(str(r["detector"])))
    )
    if args.per_record:
        for r in rows:
            s = rates(float(r["tp"]), float(r["fn"]), float(r["fp"]))  # type: ignore[arg-type]
            print(
                f"{r['group']:<16} {r['record']:>18} {r['detector']:<12} Se {s['se']:7.2f} "
                f"+P {s['ppv']:7.2f} FN {int(r['fn']):5d} FP {int(r['fp']):5d}"
            )  # type: ignore[call-overload]
    summary = summarise(rows)
    print_table(summary)
    losses = fusion_losses(rows, args.fusion_tolerance)
    print(f"records where all leads lose to the best single lead by > {args.fusion_tolerance} F1 points: "
          f"{len(losses)}")  # fmt: skip
    for g, rec, a, b in losses:
        print(f"  {g:<16} {rec:<18} all leads {a:7.3f}  best lead {b:7.3f}")
    ok = True
    if args.baseline:
        base = json.loads(args.baseline.read_text())["summary"]
        ok = compare(summary, base, args.tolerance)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"data_dir": str(root), "tolerance_s": TOLERANCE_S,
                                         "summary": summary, "records": rows}, indent=1))  # fmt: skip
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
