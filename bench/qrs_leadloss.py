#!/usr/bin/env python
"""Beats missed while one lead's signal is lost and the other lead still shows every QRS.

MIT-BIH 116 has such a spell (its first lead drops to near zero for about a minute), and it is
common at the bedside: an electrode half off, a lead that records only its own noise. This bench
replaces one lead of every shared MIT-BIH record, for ``--seconds`` at three places, with the
low-amplitude baseline the pause bench uses (0.015 mV noise, 0.03 mV wander: no QRS), leaves
the other lead as recorded, and counts (all leads) the reference beats missed and the false beats
in the spell and the 5 s after it. The rhythm goes on through the spell, so every miss is the
fusion's: the other lead had the beat.

    python bench/qrs_leadloss.py --data-dir ../shared/data --json out.json
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
import qrs_devset as devset  # noqa: E402  (a sibling script, not an installed module)

from tests.helpers.alarm_signals import baseline_fill  # noqa: E402

AT_S = (200, 700, 1300)  # where in each record (s) a spell starts
SECONDS = 20.0


@dataclass(frozen=True)
class Loss:
    """One record with one lead's signal lost for a spell: the signal (ADC units as float), its
    rate, the reference beats, the lost lead and the spell's first and last sample."""

    record: str
    lead: int
    at_s: int
    signal: np.ndarray
    fs: float
    beats: np.ndarray
    start: int
    end: int


def lose_lead(
    adc: np.ndarray, fs: float, lead: int, start: int, n: int, gain: float, seed: int
) -> np.ndarray:
    """``adc`` with ``lead`` replaced from ``start`` for ``n`` samples by the low-amplitude
    baseline the pause splice fills with (``tests/helpers/alarm_signals.baseline_fill``), ramped in
    and out from the lead's own level so no step looks like a QRS."""
    out = adc.astype(np.float64).copy()
    ends = out[[start, start + n - 1]][:, [lead]]
    out[start : start + n, lead] = np.round(baseline_fill(n, fs, ends[0], ends[1], gain, seed)[:, 0])
    return out


def losses(root: Path, records: list[str], seconds: float = SECONDS) -> Iterator[Loss]:
    """Every record with each lead lost at each of ``AT_S``."""
    import wfdb

    for rec in records:
        r = wfdb.rdrecord(str(root / "mitdb" / rec), physical=False)
        adc, fs = r.d_signal, float(r.fs)
        beats = devset.load_mitdb(str(root), rec).beats
        n = int(round(seconds * fs))
        for lead in range(adc.shape[1]):
            for at in AT_S:
                start = int(at * fs)
                sig = lose_lead(adc, fs, lead, start, n, float(r.adc_gain[lead]), seed=at + lead)
                yield Loss(rec, lead, at, sig, fs, beats, start, start + n)


def score(p: Loss, det: np.ndarray) -> tuple[int, int, int]:
    """(reference beats, missed, false) from the spell's start to 5 s after it (+-150 ms)."""
    lo, hi = p.start, p.end + int(5 * p.fs)
    ref = p.beats[(p.beats >= lo) & (p.beats < hi)]
    got = det[(det >= lo) & (det < hi)]
    tol = int(0.15 * p.fs)
    missed = sum(1 for b in ref.tolist() if not (np.abs(got - b) <= tol).any())
    false = sum(1 for d in got.tolist() if not (np.abs(ref - d) <= tol).any())
    return int(ref.size), missed, false


def run(root: Path, records: list[str], seconds: float) -> list[dict[str, object]]:
    from tqdm import tqdm

    from ecgdash.core.qrs import detect_beats

    rows: list[dict[str, object]] = []
    total = len(records) * 2 * len(AT_S)
    for p in tqdm(losses(root, records, seconds), total=total, desc="spells"):
        n, missed, false = score(p, detect_beats(p.signal, p.fs))
        rows.append({"record": p.record, "lead": p.lead, "at_s": p.at_s, "beats": n, "missed": missed,
                     "false": false})  # fmt: skip
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", type=Path, default=devset.shared_data_dir())
    ap.add_argument("--records", nargs="*", help="only these MIT-BIH records (default: all shared)")
    ap.add_argument("--seconds", type=float, default=SECONDS, help=f"spell length (default {SECONDS:g})")
    ap.add_argument("--json", type=Path, help="write per-spell results and the summary here")
    args = ap.parse_args(argv)
    if args.data_dir is None or not (args.data_dir / "mitdb").is_dir():
        ap.error("no MIT-BIH data: pass --data-dir (the folder holding mitdb/)")
    records = args.records or devset.mitdb_names(args.data_dir)
    rows = run(args.data_dir, records, args.seconds)
    head = f"{'spells':>6} {'beats':>6} {'missed':>6} {'false':>6} {'spells with a miss':>18}"
    print(f"{'lead lost':>9} | {head}")
    summary = []
    for lead in (0, 1):
        sel = [r for r in rows if r["lead"] == lead]
        n = len(sel)
        beats, missed, false = (sum(int(r[k]) for r in sel) for k in ("beats", "missed", "false"))  # type: ignore[call-overload]
        anym = sum(1 for r in sel if r["missed"])
        print(f"{lead + 1:>9} | {n:>6} {beats:>6} {missed:>6} {false:>6} {anym:>18}")
        summary.append({"lead": lead, "spells": n, "beats": beats, "missed": missed, "false": false,
                        "spells_with_missed": anym})  # fmt: skip
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        out = {"seconds": args.seconds, "summary": summary, "rows": rows}
        args.json.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
