"""Write one unit (one patient's ``[t0, t1)`` within a day) in the asked format and layout, from
pages of stored chunks in time order and the unit's labels. Both engines call this, so the
files are the same whichever engine wrote them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ecgdash.core.dataset import tables
from ecgdash.core.dataset.chunks import ChunkBlock
from ecgdash.core.dataset.grid import GridAssembler
from ecgdash.core.dataset.labels import Labels
from ecgdash.core.dataset.layout import PatientPlan, Unit, hive_dir, window_samples
from ecgdash.core.dataset.writers import NpzWriter, WfdbWriter
from ecgdash.core.storage import FileEntry, Store

SEGMENT_S = 600.0  # grid held in memory at once (10 min: 0.4 M samples per lead at 360 Hz)
ROW_GROUP = 1 << 20  # Parquet rows per row group (samples layout)
_PARQUET = {"compression": "zstd", "compression_level": 1, "store_schema": False,
            "write_statistics": ["time", "sample_index", "window_start"]}


@dataclass(frozen=True)
class Spec:
    fmt: str  # parquet | wfdb | npz
    layout: str  # samples | windows
    window_s: float = 10.0


@dataclass
class UnitResult:
    files: list[FileEntry] = field(default_factory=list)
    samples: int = 0  # stored samples written (summed over leads)
    missing: int = 0  # grid samples with nothing stored (dense formats; summed over leads)
    windows: int = 0
    labels: dict[str, int] = field(default_factory=dict)


def _parquet_writer(path: str, schema: pa.Schema) -> pq.ParquetWriter:
    enc = {c: "DELTA_BINARY_PACKED" for c in ("time", "sample_index") if c in schema.names}
    dict_cols = [c for c in schema.names if c not in enc]
    return pq.ParquetWriter(path, schema, use_dictionary=dict_cols, column_encoding=enc or None,
                            **_PARQUET)  # fmt: skip


def write_unit(plan: PatientPlan, unit: Unit, spec: Spec, pages: Iterable[ChunkBlock],
               labels: Labels, store: Store) -> UnitResult:
    res = UnitResult(labels=labels.counts())
    if spec.fmt == "parquet":
        for table, t in tables.label_tables(plan.patient, labels).items():
            rel = f"{hive_dir(table, plan.patient, unit.day)}/{unit.part}.parquet"
            pq.write_table(t, store.path(rel), **_PARQUET)
            res.files.append(store.commit(rel))
    if spec.layout == "samples" and spec.fmt == "parquet":
        _parquet_samples(plan, unit, pages, store, res)
    elif spec.layout == "samples" and spec.fmt == "wfdb":
        _wfdb_samples(plan, unit, pages, labels, store, res)
    elif spec.layout == "samples":
        _npz_samples(plan, unit, pages, labels, store, res)
    else:
        _windows(plan, unit, spec, pages, labels, store, res)
    return res


def _parquet_samples(plan: PatientPlan, unit: Unit, pages: Iterable[ChunkBlock], store: Store,
                     res: UnitResult) -> None:
    rel = f"{hive_dir('samples', plan.patient, unit.day)}/{unit.part}.parquet"
    writer = _parquet_writer(str(store.path(rel)), tables.SAMPLES)
    pending: list[pa.Table] = []
    rows = 0
    try:
        for block in pages:
            t = tables.samples_table(plan, block, unit.t0_us, unit.t1_us)
            if t.num_rows:
                pending.append(t)
                rows += t.num_rows
            if rows >= ROW_GROUP:
                writer.write_table(pa.concat_tables(pending), row_group_size=rows)
                res.samples += rows
                pending, rows = [], 0
        if rows:
            writer.write_table(pa.concat_tables(pending), row_group_size=rows)
            res.samples += rows
    finally:
        writer.close()
    res.files.append(store.commit(rel))


def _grid(plan: PatientPlan, unit: Unit) -> tuple[int, int]:
    return plan.k_of(unit.t0_us), plan.k_of(unit.t1_us)


def _offsets(plan: PatientPlan, t_us: np.ndarray, k0: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(grid offsets from k0, mask of those inside [0, n)) of times `t_us`."""
    off = np.round((np.asarray(t_us, np.int64) - plan.base_us) * (plan.fs / 1e6)).astype(np.int64) - k0
    ok = (off >= 0) & (off < n)
    return off, ok


def _record_files(plan: PatientPlan, unit: Unit) -> tuple[str, str]:
    """(folder, record name) of a patient-day record: ``<P>/<P>_<YYYYMMDD>``."""
    return plan.record, f"{plan.record}_{unit.day.replace('-', '')}"


def _segments(plan: PatientPlan, k0: int, k1: int, seg: int, pages: Iterable[ChunkBlock]):
    g = GridAssembler(plan, k0, k1, seg)
    for block in pages:
        yield from g.feed(block)
    yield from g.finish()


def _wfdb_samples(plan: PatientPlan, unit: Unit, pages: Iterable[ChunkBlock], labels: Labels,
                  store: Store, res: UnitResult) -> None:
    folder, name = _record_files(plan, unit)
    k0, k1 = _grid(plan, unit)
    base = store.path(f"{folder}/{name}.dat").parent
    w = WfdbWriter(base, name, plan.fs, plan.leads, plan.t_of(k0),
                   f"ecgdash dataset: patient {plan.patient}, stream samples from "
                   f"{plan.base_index + k0}; time UTC; -32768 = not stored")
    for s in _segments(plan, k0, k1, round(SEGMENT_S * plan.fs), pages):
        w.write(s.adc)
        res.samples += int(s.valid.sum())
        res.missing += int((~s.valid).sum())
    names = w.close()
    n = k1 - k0
    lb = labels
    off, ok = _offsets(plan, lb.beat_time_us, k0, n)
    names.append(w.annotate("qrs", off[ok], ["N"] * int(ok.sum())))
    off, ok = _offsets(plan, lb.ann_time_us, k0, n)
    idx = np.flatnonzero(ok)
    names.append(w.annotate("atr", off[ok], [lb.ann_symbol[i] for i in idx],
                            [lb.ann_aux[i] for i in idx], lb.ann_subtype[ok], lb.ann_chan[ok],
                            lb.ann_num[ok]))
    # alarms as WFDB notes: '"' with "(kind priority" at onset and "kind)" at its end
    on, ok_on = _offsets(plan, lb.alarm_onset_us, k0, n)
    end, ok_end = _offsets(plan, lb.alarm_ended_us, k0, n)
    ok_end &= lb.alarm_ended_us >= 0
    samp = np.concatenate([on[ok_on], end[ok_end]])
    aux = ([f"({lb.alarm_kind[i]} {lb.alarm_priority[i]} #{lb.alarm_id[i]}" for i in np.flatnonzero(ok_on)]
           + [f"{lb.alarm_kind[i]} #{lb.alarm_id[i]})" for i in np.flatnonzero(ok_end)])
    names.append(w.annotate("alm", samp, ['"'] * samp.size, aux))
    # quality windows: '~' (signal quality) with subtype 0 valid / 1 not, aux "sqi=.. flags"
    off, ok = _offsets(plan, lb.quality_time_us, k0, n)
    idx = np.flatnonzero(ok)
    names.append(w.annotate("sqi", off[ok], ["~"] * idx.size,
                            [f"sqi={lb.quality_sqi[i]:.3f} {lb.quality_flags[i]}".strip() for i in idx],
                            subtype=(~lb.quality_valid[ok]).astype(np.int64)))
    for fname in names:
        if fname:
            res.files.append(store.commit(f"{folder}/{fname}"))


def _npz_labels(npz: NpzWriter, plan: PatientPlan, labels: Labels, k0: int, n: int) -> None:
    lb = labels
    off, ok = _offsets(plan, lb.beat_time_us, k0, n)
    npz.put("beats", off[ok])
    npz.put("beat_rr_ms", lb.beat_rr_ms[ok])
    npz.put("beat_hr_bpm", lb.beat_hr_bpm[ok])
    npz.put("beat_quality", lb.beat_quality[ok])
    off, ok = _offsets(plan, lb.ann_time_us, k0, n)
    npz.put("ann_offset", off[ok])
    npz.put("ann_symbol", np.array([lb.ann_symbol[i] for i in np.flatnonzero(ok)], dtype=str))
    npz.put("ann_aux", np.array([lb.ann_aux[i] for i in np.flatnonzero(ok)], dtype=str))
    off, ok = _offsets(plan, lb.quality_time_us, k0, n)
    npz.put("quality_offset", off[ok])
    npz.put("quality_valid", lb.quality_valid[ok])
    npz.put("quality_sqi", lb.quality_sqi[ok])
    npz.put("alarm_id", lb.alarm_id)
    npz.put("alarm_kind", np.array(lb.alarm_kind, dtype=str))
    npz.put("alarm_priority", np.array(lb.alarm_priority, dtype=str))
    npz.put("alarm_onset_us", lb.alarm_onset_us)
    npz.put("alarm_ended_us", lb.alarm_ended_us)


def _npz_common(npz: NpzWriter, plan: PatientPlan) -> None:
    npz.put("fs", plan.fs)
    npz.put("leads", np.array([x.name for x in plan.leads], dtype=str))
    npz.put("gain", np.array([x.gain for x in plan.leads]))
    npz.put("baseline", np.array([x.baseline for x in plan.leads]))
    npz.put("units", np.array([x.units for x in plan.leads], dtype=str))
    npz.put("patient", plan.patient)


def _npz_samples(plan: PatientPlan, unit: Unit, pages: Iterable[ChunkBlock], labels: Labels,
                 store: Store, res: UnitResult) -> None:
    folder, name = _record_files(plan, unit)
    rel = f"{folder}/{name}.npz"
    k0, k1 = _grid(plan, unit)
    npz = NpzWriter(store.path(rel))
    n_leads = len(plan.leads)
    npz.declare("adc", np.int16, (n_leads,))
    npz.declare("valid", np.bool_, (n_leads,))
    for s in _segments(plan, k0, k1, round(SEGMENT_S * plan.fs), pages):
        npz.append("adc", s.adc)
        npz.append("valid", s.valid)
        res.samples += int(s.valid.sum())
        res.missing += int((~s.valid).sum())
    _npz_common(npz, plan)
    npz.put("start_time_us", plan.t_of(k0))
    npz.put("start_index", plan.base_index + k0)
    _npz_labels(npz, plan, labels, k0, k1 - k0)
    npz.close()
    res.files.append(store.commit(rel))


def _windows(plan: PatientPlan, unit: Unit, spec: Spec, pages: Iterable[ChunkBlock], labels: Labels,
             store: Store, res: UnitResult) -> None:
    length = window_samples(plan.fs, spec.window_s)
    k0, k1 = _grid(plan, unit)
    k_limit = plan.k_of(plan.end_us)  # whole windows only
    nw = max(0, min(-(-(k1 - k0) // length), (k_limit - k0) // length))
    per_seg = max(1, round(SEGMENT_S * plan.fs) // length)
    segs = _segments(plan, k0, k0 + nw * length, per_seg * length, pages)
    n_leads = len(plan.leads)
    if spec.fmt == "parquet":
        rel = f"{hive_dir('windows', plan.patient, unit.day)}/{unit.part}.parquet"
        writer = _parquet_writer(str(store.path(rel)), tables.WINDOWS)
        try:
            for s in segs:
                m = s.adc.shape[0] // length
                adc = s.adc[: m * length].reshape(m, length, n_leads).transpose(0, 2, 1)
                valid = s.valid[: m * length].reshape(m, length, n_leads).transpose(0, 2, 1)
                t = tables.windows_table(plan, s.k0, length, np.ascontiguousarray(adc), valid,
                                         labels, plan.base_index)
                keep = valid.any(axis=(1, 2))
                t = t.filter(pa.array(keep))
                if t.num_rows:
                    writer.write_table(t)
                res.windows += t.num_rows
                res.samples += int(valid[keep].sum())
                res.missing += int((~valid[keep]).sum())
        finally:
            writer.close()
        res.files.append(store.commit(rel))
        return
    folder, name = _record_files(plan, unit)
    rel = f"{folder}/{name}_windows.npz"
    npz = NpzWriter(store.path(rel))
    npz.declare("adc", np.int16, (n_leads, length))
    npz.declare("valid", np.bool_, (n_leads, length))
    npz.declare("window_start_us", np.int64, ())
    npz.declare("window_k", np.int64, ())
    for s in segs:
        m = s.adc.shape[0] // length
        adc = s.adc[: m * length].reshape(m, length, n_leads).transpose(0, 2, 1)
        valid = s.valid[: m * length].reshape(m, length, n_leads).transpose(0, 2, 1)
        keep = valid.any(axis=(1, 2))
        ks = s.k0 + np.arange(m, dtype=np.int64)[keep] * length
        npz.append("adc", adc[keep])
        npz.append("valid", valid[keep])
        npz.append("window_start_us", np.array([plan.t_of(int(k)) for k in ks], np.int64))
        npz.append("window_k", ks)
        res.windows += int(keep.sum())
        res.samples += int(valid[keep].sum())
        res.missing += int((~valid[keep]).sum())
    _npz_common(npz, plan)
    npz.put("window_samples", length)
    npz.put("start_index", plan.base_index)  # stream index of grid k = 0 (window_k + this)
    _npz_window_labels(npz, plan, labels, length)
    npz.close()
    res.files.append(store.commit(rel))


def _npz_window_labels(npz: NpzWriter, plan: PatientPlan, labels: Labels, length: int) -> None:
    """Labels by window: ``<label>_k`` is the grid index of the label (its window is the one with
    ``window_k <= k < window_k + window_samples``); flat arrays, no pickled objects."""
    lb = labels

    def k(t_us: np.ndarray) -> np.ndarray:
        return np.round((np.asarray(t_us, np.int64) - plan.base_us) * (plan.fs / 1e6)).astype(np.int64)

    npz.put("beat_k", k(lb.beat_time_us))
    npz.put("beat_rr_ms", lb.beat_rr_ms)
    npz.put("beat_hr_bpm", lb.beat_hr_bpm)
    npz.put("beat_quality", lb.beat_quality)
    npz.put("ann_k", k(lb.ann_time_us))
    npz.put("ann_symbol", np.array(lb.ann_symbol, dtype=str))
    npz.put("ann_aux", np.array(lb.ann_aux, dtype=str))
    npz.put("rhythm_before", lb.rhythm_before)
    npz.put("quality_k", k(lb.quality_time_us))
    npz.put("quality_valid", lb.quality_valid)
    npz.put("quality_sqi", lb.quality_sqi)
    npz.put("alarm_id", lb.alarm_id)
    npz.put("alarm_kind", np.array(lb.alarm_kind, dtype=str))
    npz.put("alarm_priority", np.array(lb.alarm_priority, dtype=str))
    npz.put("alarm_onset_us", lb.alarm_onset_us)
    npz.put("alarm_ended_us", lb.alarm_ended_us)
