"""All leads against the best single lead (issue 13), on the shared records and transformed copies.

For every case the detector runs on all leads (what the pipeline runs) and on each lead alone;
the all-lead F1 must be at least the best single lead's minus ``TOLERANCE`` F1 points, and each
group's gross all-lead F1 must stay above its floor. The cases are the bench's dev set
(``bench/qrs_devset.py``: same records, folds, transformations and EC57 scoring span), limited to
the groups that fit the suite's time (about 90 s): the 26 shared MIT-BIH records, the 12 NSTDB
records, and the MIT-BIH records with lead 2 or lead 1 replaced by a tall-P/T surrogate. The other
transformation groups (resampled, gains, inverted, swapped leads, baseline wander, mains, added
electrode-motion noise) are checked per group (gross F1 against a floor and against the best single
leads; about 90 s), per case by ``bench/qrs_accuracy.py`` only, and other surrogate shapes by
``bench/qrs_tallpt_sweep.py``.

Where the detector does not hold the property yet, the case is in ``KNOWN_LOSSES`` with the
all-lead and best-lead F1 that ``python bench/qrs_accuracy.py --data-dir ../shared/data --peers
none`` measured; those cases are strict expected failures, so a change that fixes one makes the
suite fail until the entry is removed. Needs the shared PhysioNet data (``$ECG_SHARED_DATA`` or
``../shared/data`` beside the repository); skipped without it.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest

from bench import qrs_devset as devset
from ecgdash.core.qrs import DetectorConfig, detect_beats

TOLERANCE = 0.25  # F1 points the all-lead result may lie below the best single lead
GROUPS = ("records", "paced", "nstdb +24 dB", "nstdb +18 dB", "nstdb +12 dB", "nstdb +6 dB",
          "nstdb +0 dB", "nstdb -6 dB", "tall P/T lead 2", "tall P/T lead 1")  # fmt: skip
# group -> gross all-lead F1 floor (%): the bench's figure at the last detector change, rounded down
FLOORS = {
    "records": 99.85, "paced": 99.94, "nstdb +24 dB": 99.95, "nstdb +18 dB": 99.95,
    "nstdb +12 dB": 99.90, "nstdb +6 dB": 98.20, "nstdb +0 dB": 86.40, "nstdb -6 dB": 74.00,
    "tall P/T lead 2": 99.80, "tall P/T lead 1": 98.75,
}  # fmt: skip
# transformation group -> gross all-lead F1 floor (%); per case these groups are compared with the
# best lead by the bench only, for the suite's time
TRANSFORMED = {
    "fs 125": 99.85, "fs 250": 99.85, "fs 500": 99.85, "fs 1000": 99.85, "gain x0.25": 99.85,
    "gain x4": 99.85, "gain x0.25/x4": 99.85, "inverted": 99.85, "leads swapped": 99.85,
    "baseline wander": 99.85, "mains 50 Hz": 99.85, "mains 60 Hz": 99.85, "em +12 dB": 99.65,
    "em +6 dB": 97.75, "em +0 dB": 86.80,
}  # fmt: skip
# transformation groups whose gross all-lead F1 is below the best single leads' (as measured)
KNOWN_GROUP_LOSSES = {"em +0 dB": "all leads 87.18 % < best lead 89.82 %"}
# (group, case) -> (all-lead F1, best single lead F1) as measured; not met yet (issue 13)
KNOWN_LOSSES = {
    ("nstdb +6 dB", "119e06"): (96.60, 97.56),
    ("nstdb +0 dB", "118e00"): (88.24, 92.27),
    ("nstdb +0 dB", "119e00"): (85.06, 87.71),
    ("nstdb -6 dB", "118e_6"): (74.88, 78.81),
    ("nstdb -6 dB", "119e_6"): (73.36, 75.51),
    # lead 1 replaced: the surrogate copies lead 2 (101's weaker lead, noisy) and adds its waves,
    # so both leads carry the same noise and the fusion cannot average it out; 108's lead 2 has
    # tall P waves of its own
    ("tall P/T lead 1", "101"): (91.51, 94.54),
    ("tall P/T lead 1", "108"): (97.57, 97.86),
}
MATCH_S = 0.150  # EC57 match window

ROOT = devset.shared_data_dir()
CASES = devset.case_ids(ROOT, set(GROUPS)) if ROOT is not None else []
pytestmark = pytest.mark.skipif(ROOT is None, reason=f"no shared data (set ${devset.ENV})")


def _counts(case: devset.Case, det: np.ndarray) -> tuple[int, int, int]:
    """TP, FN, FP in the scored span, VF episodes excluded, one-to-one within +-150 ms."""

    def scope(idx: np.ndarray) -> np.ndarray:
        keep = (idx >= case.span[0]) & (idx < case.span[1])
        for a, b in case.excluded:
            keep &= (idx < a) | (idx > b)
        return np.sort(idx[keep])

    ref, got = scope(case.beats), scope(det)
    tol = int(round(MATCH_S * case.fs))
    used = np.zeros(got.size, dtype=bool)
    tp = 0
    for r in ref.tolist():
        lo, hi = np.searchsorted(got, [r - tol, r + tol + 1])
        free = [j for j in range(lo, hi) if not used[j]]
        if free:
            used[min(free, key=lambda j: abs(int(got[j]) - r))] = True
            tp += 1
    return tp, ref.size - tp, got.size - tp


def _f1(tp: int, fn: int, fp: int) -> float:
    return 100.0 * 2 * tp / max(2 * tp + fn + fp, 1)


@cache
def _result(cid: devset.CaseId) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """(TP, FN, FP) of all leads, and of the best single lead (the bench's ``ours-best1``: the lead
    alone with the higher F1)."""
    assert ROOT is not None
    case = devset.build(ROOT, cid)
    fused = _counts(case, detect_beats(case.signal, case.fs))
    alone = [_counts(case, detect_beats(np.ascontiguousarray(case.signal[:, k]), case.fs))
             for k in range(case.signal.shape[1])]  # fmt: skip
    return fused, max(alone, key=lambda c: _f1(*c))


def _param(cid: devset.CaseId) -> object:
    known = KNOWN_LOSSES.get((cid.group, cid.record))
    marks = []
    if known is not None:
        why = f"all leads {known[0]:.2f} % < best lead {known[1]:.2f} % (issue 13)"
        marks.append(pytest.mark.xfail(strict=True, reason=why))
    return pytest.param(cid, id=f"{cid.group}|{cid.record}", marks=marks)


@pytest.mark.parametrize("cid", [_param(c) for c in CASES])
def test_all_leads_not_below_best_single_lead(cid: devset.CaseId) -> None:
    fused, best = (_f1(*c) for c in _result(cid))
    assert fused >= best - TOLERANCE, f"all leads {fused:.2f} %, best single lead {best:.2f} %"


@pytest.mark.parametrize("group", GROUPS)
def test_group_floor(group: str) -> None:
    """Gross all-lead F1 of the group (sums over its records) above its floor."""
    rows = [_result(c)[0] for c in CASES if c.group == group]
    assert rows, f"no case in group {group!r}"
    tp, fn, fp = (sum(r[i] for r in rows) for i in range(3))
    assert _f1(tp, fn, fp) >= FLOORS[group], f"{group}: F1 {_f1(tp, fn, fp):.3f} % < {FLOORS[group]}"


def _group_counts(group: str) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """``_result`` summed over a group's cases: all leads, and each case's best single lead."""
    assert ROOT is not None
    rows = np.array([_result(cid) for cid in devset.case_ids(ROOT, {group})])  # (cases, 2, 3)
    fused, best = rows.sum(axis=0).tolist()
    return tuple(fused), tuple(best)


@pytest.mark.parametrize("group", list(TRANSFORMED))
def test_transformed_group_floor(group: str) -> None:
    """Gross all-lead F1 of a transformation group (resampled, gains, inverted, swapped, wander,
    mains, added electrode-motion noise) above its floor: the bench's figure at the last detector
    change, rounded down."""
    f1 = _f1(*_group_counts(group)[0])
    assert f1 >= TRANSFORMED[group], f"{group}: F1 {f1:.3f} % < {TRANSFORMED[group]}"


@pytest.mark.parametrize("group", [
    pytest.param(g, marks=[pytest.mark.xfail(strict=True, reason=f"{KNOWN_GROUP_LOSSES[g]} (issue 13)")])
    if g in KNOWN_GROUP_LOSSES else g
    for g in TRANSFORMED
])  # fmt: skip
def test_transformed_group_not_below_best_single_lead(group: str) -> None:
    """A transformation group's gross all-lead F1 is at least its best single leads' (each case's
    better lead, summed) minus ``TOLERANCE``."""
    fused, best = (_f1(*c) for c in _group_counts(group))
    assert fused >= best - TOLERANCE, f"{group}: all leads {fused:.2f} % < best lead {best:.2f} %"


def _cid(group: str, record: str) -> devset.CaseId:
    assert ROOT is not None
    return next(c for c in devset.case_ids(ROOT, {group}) if c.record == record)


def _with_and_without(monkeypatch, group: str, record: str, name: str, value: float
                      ) -> tuple[tuple[int, int], tuple[int, int]]:  # fmt: skip
    """(FN, FP) of a case as the detector stands, then with ``quality.<name>`` set to ``value``
    (the rule under test switched off or weakened)."""
    from ecgdash.core.qrs import quality

    case = devset.build(ROOT, _cid(group, record))
    _, fn, fp = _counts(case, detect_beats(case.signal, case.fs))
    monkeypatch.setattr(quality, name, value)
    _, fn0, fp0 = _counts(case, detect_beats(case.signal, case.fs))
    return (fn, fp), (fn0, fp0)


@pytest.mark.parametrize(("group", "record"),
                         [("em +6 dB", "101"), ("nstdb +0 dB", "118e00")])  # fmt: skip
def test_noise_rule_removes_false_beats(group: str, record: str) -> None:
    """In noise, an early candidate that gives way to a much larger one on the rhythm is not a
    beat even in an irregular rhythm (``DetectorConfig.noisy_early``): against the cardiologists'
    marks it removes false beats and costs at most a few true ones (0 turns the rule off).
    Measured false beats without -> with it: 101 114 -> 108, 118e00 443 -> 430 (3 more missed).
    124 with added noise +6 dB was checked here too (35 -> 28 before the second band): with the
    second band in the feature it has 29 false beats with the rule and without, as none of them
    is an early candidate that gives way any more. Measured with the doubt in noise off
    (``noisy_doubt``), which since takes most of these beats itself (next test)."""
    case = devset.build(ROOT, _cid(group, record))
    off = DetectorConfig(noisy_doubt=False)
    tp, fn, fp = _counts(case, detect_beats(case.signal, case.fs, off))
    tp0, fn0, fp0 = _counts(case, detect_beats(case.signal, case.fs,
                                               DetectorConfig(noisy_early=0.0, noisy_doubt=False)))
    assert fp <= fp0 - 5 and fn <= fn0 + 10, (fn0, fp0, fn, fp)
    assert _f1(tp, fn, fp) > _f1(tp0, fn0, fp0)


@pytest.mark.parametrize(("group", "record"),
                         [("em +6 dB", "101"), ("nstdb +0 dB", "118e00"), ("em +0 dB", "119")])  # fmt: skip
def test_doubt_in_noise_removes_false_beats(group: str, record: str) -> None:
    """In noise, a clear candidate below the threshold raised to the between-beat floor gives way
    to a larger one due within 1.2 median RR (``DetectorConfig.noisy_doubt``): against the
    cardiologists' marks it removes false beats, at a better F1. Measured (FN, FP) without -> with
    it: 101 (8, 108) -> (8, 101); 118e00 (83, 430) -> (100, 384); 119 (53, 568) -> (55, 551)."""
    case = devset.build(ROOT, _cid(group, record))
    tp, fn, fp = _counts(case, detect_beats(case.signal, case.fs))
    tp0, fn0, fp0 = _counts(case, detect_beats(case.signal, case.fs, DetectorConfig(noisy_doubt=False)))
    assert fp <= fp0 - 5 and fn <= fn0 + 20, (fn0, fp0, fn, fp)
    assert _f1(tp, fn, fp) > _f1(tp0, fn0, fp0)


@pytest.mark.parametrize(("group", "record"), [("paced", "217"), ("records", "203"), ("records", "119")])
def test_doubt_in_noise_keeps_premature_beats(group: str, record: str) -> None:
    """217's premature beats come at half its RR, 203's in atrial fibrillation, 119's in bigeminy:
    a premature beat's compensatory pause holds no larger candidate where the next beat is due, so
    the doubt takes at most one true beat and adds no false one (the threshold raised outright took
    three of 217's). Measured: 217 and 119 unchanged; 203 one true beat fewer (in atrial
    fibrillation, where the next beat is not due at one RR), false beats unchanged."""
    case = devset.build(ROOT, _cid(group, record))
    tp, fn, fp = _counts(case, detect_beats(case.signal, case.fs))
    tp0, fn0, fp0 = _counts(case, detect_beats(case.signal, case.fs, DetectorConfig(noisy_doubt=False)))
    assert tp >= tp0 - 1 and fp <= fp0, (fn0, fp0, fn, fp)


def test_noise_rule_leaves_atrial_fibrillation_alone() -> None:
    """Record 203 (atrial fibrillation, multiform ventricular beats) has a high between-beat floor
    most of the time but early beats that are real: the rule takes at most one of its true beats,
    and fewer than the false ones it removes. Measured with the second band in the feature: it
    changes one noisy stretch at 1269-1273 s (one true beat and two false ones go; the scored span
    has 17 -> 18 missed, 27 -> 25 false); before the second band it changed no beat at all."""
    case = devset.build(ROOT, _cid("records", "203"))
    _, fn, fp = _counts(case, detect_beats(case.signal, case.fs))
    _, fn0, fp0 = _counts(case, detect_beats(case.signal, case.fs, DetectorConfig(noisy_early=0.0)))
    assert fn - fn0 <= 1 and fn - fn0 < max(fp0 - fp, 1), (fn0, fp0, fn, fp)


def test_search_back_takes_nothing_inside_bigeminy_pauses() -> None:
    """119 has long runs of ventricular bigeminy; at NSTDB +12 dB noise false beats once pulled
    the median RR down to the coupling interval, after which search-back took noise in every
    compensatory pause (16 false beats with all leads). Against the cardiologists' marks, search-back
    measured against the pair-mean cycle (``_search_cycle``) keeps every beat and at most 5 false."""
    case = devset.build(ROOT, _cid("nstdb +12 dB", "119e12"))
    tp, fn, fp = _counts(case, detect_beats(case.signal, case.fs))
    assert fn == 0 and fp <= 5, (tp, fn, fp)


def test_tall_wave_lead_stays_down_weighted_while_the_clean_lead_is_noisy(monkeypatch) -> None:
    """108 with lead 2 replaced by a tall-P/T surrogate: around 1660-1745 s noise lifts lead 1's
    between-beat floor above the safe level, which once turned the floor scaling off and let the
    surrogate's P and T waves count as beats. Its long-term floor (followed at a limited rate)
    stays high through that noise (the waves are always there), so it stays down-weighted: fewer
    false beats against the annotations, none missed more, than with the long-term rule off.
    Measured (missed, false) without -> with the rule: (12, 17) -> (10, 13); before the second band
    in the feature, which quiets the surrogate's waves by itself, the rule removed 10 or more."""
    rule_off = ("STRUCTURAL_FLOOR", np.inf)
    (fn, fp), (fn0, fp0) = _with_and_without(monkeypatch, "tall P/T lead 2", "108", *rule_off)
    assert fp <= fp0 - 3 and fn <= fn0, (fn0, fp0, fn, fp)


def test_tall_wave_lead_never_pushes_out_a_calm_noisy_lead() -> None:
    """The window that ends at 298 s of 101 with a tall-P/T first lead (values as traced there):
    noise flags the real lead (long-term floor 0.33), the surrogate (0.68) is clean. The pick of
    clean leads over noisy ones once made the surrogate the only lead in use, and its T waves
    beats; the calm lead now stays in and carries most of the weight. A calm lead that has lost
    its signal (quiet for LOST_WINDOWS windows) does not hold its place."""
    from ecgdash.core.qrs import quality

    flags = np.array([0, quality.LeadFlag.NOISY])
    ref, busy = np.array([2.0, 5.0]), np.array([0.20, 0.30])
    floor, lfloor = np.array([0.72, 0.53]), np.array([0.68, 0.33])
    live = np.zeros(2)
    w = quality._next_weights(flags, ref, busy, floor, lfloor, live, live) * ref  # shares
    assert w[1] > 0 and w[0] < 0.5 * w[1], w
    lost = np.array([0.0, quality.LOST_WINDOWS])
    w = quality._next_weights(flags, ref, busy, floor, lfloor, lost, lost) * ref
    assert w[0] > 0 and w[1] == 0, w


def test_tall_wave_lead_down_weighting_is_cubed(monkeypatch) -> None:
    """101 with a tall-P/T first lead: with the plain ratio (SAFE_FLOOR / long-term floor) the
    surrogate kept about half its share through the real lead's noise bursts and its T waves
    passed the threshold; cubed, fewer false beats and none missed more."""
    (fn, fp), (fn1, fp1) = _with_and_without(monkeypatch, "tall P/T lead 1", "101", "STRUCTURAL_POWER", 1)
    assert fp <= fp1 - 20 and fn <= fn1, (fn1, fp1, fn, fp)


def test_tall_wave_lead_down_weighted_beside_a_clearly_calmer_lead(monkeypatch) -> None:
    """209 with a tall-P/T first lead: the real lead's long-term floor sits around 0.36, safe in
    only a third of the windows, so the surrogate (0.72) kept its weight in the rest. Scaled also
    beside a lead at most STRUCTURAL_RATIO x its floor: fewer false beats, none missed more.
    Measured (missed, false) without -> with the rule: (47, 79) -> (39, 73); 10 or more false
    beats removed before the second band in the feature."""
    (fn, fp), (fn0, fp0) = _with_and_without(monkeypatch, "tall P/T lead 1", "209", "STRUCTURAL_RATIO", 0.0)
    assert fp <= fp0 - 5 and fn <= fn0, (fn0, fp0, fn, fp)


def test_long_term_floor_leaves_noise_on_every_lead_alone(monkeypatch) -> None:
    """NSTDB noise comes in 2-min bursts on both leads: the long-term floors stay low, so the
    rule changes no beat of 119e06."""
    from ecgdash.core.qrs import quality

    case = devset.build(ROOT, _cid("nstdb +6 dB", "119e06"))
    got = detect_beats(case.signal, case.fs)
    monkeypatch.setattr(quality, "STRUCTURAL_FLOOR", np.inf)
    np.testing.assert_array_equal(got, detect_beats(case.signal, case.fs))
