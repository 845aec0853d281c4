"""Arrow schemas of the dataset's Parquet tables, and their builders.

Strings that repeat on every row (patient, lead) are dictionary arrays, written as Parquet
dictionary pages and read back by every reader as plain strings (the Arrow schema is not stored,
so pandas, polars and Spark see the same logical types). ``time`` is UTC microseconds.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ecgdash.core.dataset.chunks import ChunkBlock
from ecgdash.core.dataset.labels import Labels
from ecgdash.core.dataset.layout import PatientPlan

TS = pa.timestamp("us", tz="UTC")
SAMPLES = pa.schema([
    ("patient_id", pa.dictionary(pa.int32(), pa.string())), ("signal_index", pa.int16()),
    ("lead", pa.dictionary(pa.int32(), pa.string())), ("time", TS), ("sample_index", pa.int64()),
    ("adc", pa.int16()),
])  # fmt: skip
SIGNALS = pa.schema([
    ("patient_id", pa.string()), ("signal_index", pa.int16()), ("lead", pa.string()),
    ("fs", pa.float64()), ("gain", pa.float64()), ("baseline", pa.int32()), ("units", pa.string()),
    ("adc_res", pa.int16()), ("adc_zero", pa.int32()), ("bed", pa.string()),
])  # fmt: skip
BEATS = pa.schema([
    ("patient_id", pa.string()), ("time", TS), ("sample_index", pa.int64()), ("rr_ms", pa.float64()),
    ("hr_bpm", pa.float64()), ("quality", pa.float64()), ("leads", pa.string()),
])  # fmt: skip
QUALITY = pa.schema([
    ("patient_id", pa.string()), ("time", TS), ("duration_s", pa.float64()), ("valid", pa.bool_()),
    ("sqi", pa.float64()), ("flags", pa.string()),
])  # fmt: skip
ANNOTATIONS = pa.schema([
    ("patient_id", pa.string()), ("time", TS), ("sample_index", pa.int64()), ("source", pa.string()),
    ("symbol", pa.string()), ("subtype", pa.int16()), ("chan", pa.int16()), ("num", pa.int16()),
    ("aux_note", pa.string()),
])  # fmt: skip
ALARMS = pa.schema([
    ("patient_id", pa.string()), ("alarm_id", pa.int64()), ("kind", pa.string()),
    ("priority", pa.string()), ("onset", TS), ("ended", TS), ("value", pa.float64()),
    ("message", pa.string()), ("acked_by", pa.string()),
])  # fmt: skip
_I32L, _F64L, _STRL = pa.list_(pa.int32()), pa.list_(pa.float64()), pa.list_(pa.string())
WINDOWS = pa.schema([
    ("patient_id", pa.string()), ("window_start", TS), ("sample_index", pa.int64()),
    ("fs", pa.float64()), ("n_samples", pa.int32()), ("leads", _STRL),
    ("adc", pa.list_(pa.list_(pa.int16()))), ("n_missing", pa.int32()),
    ("beat_offsets", _I32L), ("beat_rr_ms", _F64L), ("beat_hr_bpm", _F64L), ("beat_quality", _F64L),
    ("ann_offsets", _I32L), ("ann_symbols", _STRL), ("ann_aux", _STRL), ("rhythm", pa.string()),
    ("quality_valid_s", pa.float64()), ("quality_flags", _STRL),
    ("alarm_ids", pa.list_(pa.int64())), ("alarm_kinds", _STRL),
])  # fmt: skip


def _const(value: str, n: int) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, np.int32)), pa.array([value]))


def samples_table(plan: PatientPlan, block: ChunkBlock, t0_us: int, t1_us: int) -> pa.Table:
    """One row per stored sample of `block` whose time is in [t0_us, t1_us)."""
    t, idx = block.sample_times(plan.fs)
    keep = (t >= t0_us) & (t < t1_us)
    sig = np.repeat(block.signal_index, block.lengths)[keep]
    n = int(keep.sum())
    names = pa.array([lead.name for lead in plan.leads])
    lead = pa.DictionaryArray.from_arrays(pa.array(sig.astype(np.int32)), names)
    return pa.Table.from_arrays([
        _const(plan.patient, n), pa.array(sig), lead, pa.array(t[keep]).cast(TS), pa.array(idx[keep]),
        pa.array(block.values[keep]),
    ], schema=SAMPLES)  # fmt: skip


def signals_table(plan: PatientPlan) -> pa.Table:
    ls = plan.leads
    return pa.Table.from_pylist([
        {"patient_id": plan.patient, "signal_index": i, "lead": x.name, "fs": plan.fs,
         "gain": x.gain, "baseline": x.baseline, "units": x.units, "adc_res": x.adc_res,
         "adc_zero": x.adc_zero, "bed": plan.bed}
        for i, x in enumerate(ls)], schema=SIGNALS)  # fmt: skip


def _ts(us: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(us, np.int64)).cast(TS)


def label_tables(patient: str, lb: Labels) -> dict[str, pa.Table]:
    """The non-empty label tables of a unit."""
    out = {}
    n = lb.beat_time_us.size
    if n:
        out["beats"] = pa.Table.from_arrays([
            pa.array([patient] * n), _ts(lb.beat_time_us), pa.array(lb.beat_sample_index),
            pa.array(lb.beat_rr_ms, from_pandas=True), pa.array(lb.beat_hr_bpm, from_pandas=True),
            pa.array(lb.beat_quality), pa.array(lb.beat_leads, pa.string())], schema=BEATS)
    n = lb.quality_time_us.size
    if n:
        out["quality"] = pa.Table.from_arrays([
            pa.array([patient] * n), _ts(lb.quality_time_us), pa.array(lb.quality_duration_s),
            pa.array(lb.quality_valid), pa.array(lb.quality_sqi),
            pa.array(lb.quality_flags, pa.string())], schema=QUALITY)
    n = lb.ann_time_us.size
    if n:
        out["annotations"] = pa.Table.from_arrays([
            pa.array([patient] * n), _ts(lb.ann_time_us), pa.array(lb.ann_sample_index),
            pa.array(lb.ann_source, pa.string()), pa.array(lb.ann_symbol, pa.string()),
            pa.array(lb.ann_subtype.astype(np.int16)), pa.array(lb.ann_chan.astype(np.int16)),
            pa.array(lb.ann_num.astype(np.int16)), pa.array(lb.ann_aux, pa.string())],
            schema=ANNOTATIONS)
    n = lb.alarm_id.size
    if n:
        ended = pa.array(lb.alarm_ended_us, mask=lb.alarm_ended_us < 0).cast(TS)
        out["alarms"] = pa.Table.from_arrays([
            pa.array([patient] * n), pa.array(lb.alarm_id), pa.array(lb.alarm_kind, pa.string()),
            pa.array(lb.alarm_priority, pa.string()), _ts(lb.alarm_onset_us), ended,
            pa.array(lb.alarm_value, from_pandas=True), pa.array(lb.alarm_message, pa.string()),
            pa.array(lb.alarm_acked_by, pa.string())], schema=ALARMS)
    return out


def _ragged(owner: np.ndarray, n: int, values: pa.Array, list_type: pa.DataType) -> pa.Array:
    """A list per window: `values[i]` belongs to window `owner[i]` (sorted)."""
    offsets = np.searchsorted(owner, np.arange(n + 1)).astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets), values).cast(list_type)


def windows_table(plan: PatientPlan, k0: int, length: int, adc: np.ndarray, valid: np.ndarray,
                  lb: Labels, base_index: int) -> pa.Table:
    """Rows for consecutive windows from grid index `k0`; `adc`/`valid` (nw, leads, L)."""
    nw, n_leads = int(adc.shape[0]), len(plan.leads)
    k_windows = k0 + np.arange(nw, dtype=np.int64) * length
    start_us = np.array([plan.t_of(int(k)) for k in k_windows], np.int64)
    inner = pa.ListArray.from_arrays(pa.array(np.arange(0, nw * n_leads + 1, dtype=np.int32) * length),
                                     pa.array(adc.reshape(-1)))
    outer = pa.ListArray.from_arrays(pa.array(np.arange(0, nw + 1, dtype=np.int32) * n_leads), inner)

    def locate(t_us: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        k = np.round((np.asarray(t_us, np.int64) - plan.base_us) * (plan.fs / 1e6)).astype(np.int64)
        w = (k - k0) // length
        ok = (w >= 0) & (w < nw)
        return w[ok], (k - k0 - w * length)[ok], ok

    bw, boff, bok = locate(lb.beat_time_us)
    aw, aoff, aok = locate(lb.ann_time_us)
    # the rhythm at a window's start: the newest '+' before it (or the unit's rhythm before)
    sym = np.array(lb.ann_symbol, dtype=object)
    aux = np.array(lb.ann_aux, dtype=object)
    plus = np.flatnonzero(sym == "+") if sym.size else np.zeros(0, np.int64)
    plus_t = np.asarray(lb.ann_time_us, np.int64)[plus]
    at = np.searchsorted(plus_t, start_us, side="right") - 1
    rhythm = [str(aux[plus[i]]) if i >= 0 else lb.rhythm_before for i in at]
    qw, _qoff, qok = locate(lb.quality_time_us)
    qvalid = np.bincount(qw, weights=(lb.quality_duration_s[qok] * lb.quality_valid[qok]), minlength=nw)
    qflags = [sorted({f for f in lb.quality_flags[i].split(",") if f})
              for i in np.flatnonzero(qok)]
    flag_owner = np.repeat(qw, [len(f) for f in qflags])
    # alarms on during a window: onset before its end, not ended before its start
    end_us = start_us + round(length * 1e6 / plan.fs)
    al_w, al_i = [], []
    for i in range(lb.alarm_id.size):
        on, off = lb.alarm_onset_us[i], lb.alarm_ended_us[i]
        hit = np.flatnonzero((start_us < (off if off >= 0 else np.iinfo(np.int64).max)) & (end_us > on))
        al_w += hit.tolist()
        al_i += [i] * hit.size
    order = np.argsort(np.asarray(al_w, np.int64), kind="stable")
    al_w_a, al_i_a = np.asarray(al_w, np.int64)[order], np.asarray(al_i, np.int64)[order]
    cols = [
        pa.array([plan.patient] * nw), _ts(start_us), pa.array(base_index + k_windows),
        pa.array(np.full(nw, plan.fs)), pa.array(np.full(nw, length, np.int32)),
        pa.array([[lead.name for lead in plan.leads]] * nw, _STRL), outer,
        pa.array((~valid).reshape(nw, -1).sum(axis=1).astype(np.int32)),
        _ragged(bw, nw, pa.array(boff.astype(np.int32)), _I32L),
        _ragged(bw, nw, pa.array(lb.beat_rr_ms[bok], from_pandas=True), _F64L),
        _ragged(bw, nw, pa.array(lb.beat_hr_bpm[bok], from_pandas=True), _F64L),
        _ragged(bw, nw, pa.array(lb.beat_quality[bok]), _F64L),
        _ragged(aw, nw, pa.array(aoff.astype(np.int32)), _I32L),
        _ragged(aw, nw, pa.array(sym[aok].tolist(), pa.string()), _STRL),
        _ragged(aw, nw, pa.array(aux[aok].tolist(), pa.string()), _STRL),
        pa.array(rhythm, pa.string()), pa.array(qvalid.astype(np.float64)),
        _ragged(flag_owner, nw, pa.array([f for fl in qflags for f in fl], pa.string()), _STRL),
        _ragged(al_w_a, nw, pa.array(lb.alarm_id[al_i_a]), pa.list_(pa.int64())),
        _ragged(al_w_a, nw, pa.array([f"{lb.alarm_kind[i]}:{lb.alarm_priority[i]}" for i in al_i_a],
                                     pa.string()), _STRL),
    ]
    return pa.Table.from_arrays(cols, schema=WINDOWS)
