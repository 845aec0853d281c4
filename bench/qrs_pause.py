#!/usr/bin/env python
"""False beats inside pauses: sinus arrest, asystole, long post-ectopic pauses.

No shared record has a pause of more than a few seconds, but the unseen ones do (MIT-BIH 232: up to
6 s) and an asystole is exactly that. This bench splices pauses into every shared MIT-BIH record
with the alarm tests' helper (``tests/helpers/alarm_signals.splice_pause``: from 0.45 s after a beat,
a flat line or low-amplitude baseline wander and noise on every lead, then the record again from
0.25 s before its next beat), three places per record, and counts the beats the detector (all
leads) reports inside the pause. Every one is false. ``--noise`` scales the low-amplitude fill
(1 = 0.015 mV noise and 0.03 mV wander, as the alarm tests use). ``--lead-off K`` makes lead K a
flat line for the whole record (its electrode off from the start): the pause is then on the other
lead alone, and the detector should do as well as on that lead alone.

    python bench/qrs_pause.py --data-dir ../shared/data --json out.json
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

from tests.helpers.alarm_signals import splice_pause  # noqa: E402

PAUSES_S = (3.0, 5.0, 8.0)
KINDS = ("flat", "low-amplitude")
AT_S = (200, 700, 1300)  # where in each record (s) a pause is spliced


@dataclass(frozen=True)
class Pause:
    """One record with one spliced pause: the signal (ADC units as float), its rate, the moved
    reference beats, and the pause's onset (the last beat before it) and end, in samples."""

    record: str
    pause_s: float
    kind: str
    at_s: int
    signal: np.ndarray
    fs: float
    beats: np.ndarray
    onset: int
    end: int


def pauses(root: Path, records: list[str], lengths: tuple[float, ...] = PAUSES_S,
           kinds: tuple[str, ...] = KINDS, noise: float = 1.0,
           lead_off: int | None = None) -> Iterator[Pause]:  # fmt: skip
    """Every record with a pause of every length and kind spliced at each of ``AT_S``; with
    ``lead_off`` (0-based) that lead is a flat line at 0 throughout."""
    import wfdb

    for rec in records:
        r = wfdb.rdrecord(str(root / "mitdb" / rec), physical=False)
        adc, fs = r.d_signal.astype(np.int16), float(r.fs)
        gain = float(r.adc_gain[0]) * noise
        beats = devset.load_mitdb(str(root), rec).beats
        for pause in lengths:
            for how in kinds:
                for at in AT_S:
                    sig, ref, inj = splice_pause(adc, beats, fs, int(at * fs), pause, how, seed=at, gain=gain)
                    if lead_off is not None:
                        sig[:, lead_off] = 0
                    yield Pause(rec, pause, how, at, sig.astype(np.float64), fs, ref, inj.onset, inj.end)


def false_beats(p: Pause, det: np.ndarray) -> int:
    """Detected beats inside the pause: from 0.2 s after the last beat (its own detection may sit
    a little late) to 0.1 s past the end of the fill, other than a reference beat's (+-150 ms: in a
    fast rhythm the record resumes 0.08 s before its next beat, which is then inside that span)."""
    lo, hi = p.onset + int(0.2 * p.fs), p.end + int(0.1 * p.fs)
    inside = det[(det > lo) & (det < hi)]
    tol = int(round(0.15 * p.fs))
    near = p.beats[(p.beats > lo - tol) & (p.beats < hi + tol)]
    return int(sum(1 for d in inside.tolist() if not (np.abs(near - d) <= tol).any()))


def run(root: Path, records: list[str], noise: float, lead_off: int | None = None) -> list[dict[str, object]]:
    from tqdm import tqdm

    from ecgdash.core.qrs import detect_beats

    rows: list[dict[str, object]] = []
    total = len(records) * len(PAUSES_S) * len(KINDS) * len(AT_S)
    for p in tqdm(pauses(root, records, noise=noise, lead_off=lead_off), total=total, desc="pauses"):
        false = false_beats(p, detect_beats(p.signal, p.fs))
        rows.append({"record": p.record, "pause_s": p.pause_s, "kind": p.kind, "at_s": p.at_s,
                     "false_beats": false})  # fmt: skip
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", type=Path, default=devset.shared_data_dir())
    ap.add_argument("--records", nargs="*", help="only these MIT-BIH records (default: all shared)")
    ap.add_argument("--noise", type=float, default=1.0, help="scale of the low-amplitude fill (default 1)")
    ap.add_argument("--lead-off", type=int, choices=(1, 2), help="this lead is a flat line throughout")
    ap.add_argument("--json", type=Path, help="write per-pause results and the summary here")
    args = ap.parse_args(argv)
    if args.data_dir is None or not (args.data_dir / "mitdb").is_dir():
        ap.error("no MIT-BIH data: pass --data-dir (the folder holding mitdb/)")
    records = args.records or devset.mitdb_names(args.data_dir)
    off = None if args.lead_off is None else args.lead_off - 1
    rows = run(args.data_dir, records, args.noise, off)
    summary = []
    print(
        f"{'pause':>6} {'fill':>14} | {'pauses':>6} {'false beats':>11} {'per pause':>9} "
        f"{'pauses with any':>15}"
    )
    for pause in PAUSES_S:
        for how in KINDS:
            sel = [int(r["false_beats"]) for r in rows if r["pause_s"] == pause and r["kind"] == how]  # type: ignore[call-overload]
            n, tot, anyf = len(sel), sum(sel), sum(1 for v in sel if v)
            print(f"{pause:>5.0f}s {how:>14} | {n:>6} {tot:>11} {tot / max(n, 1):>9.2f} {anyf:>15}")
            summary.append(
                {"pause_s": pause, "kind": how, "pauses": n, "false_beats": tot, "pauses_with_false": anyf}
            )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        out = {"noise": args.noise, "lead_off": args.lead_off, "summary": summary, "rows": rows}
        args.json.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
