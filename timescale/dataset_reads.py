"""What a dataset export reads, as the dataset format's types: a cohort member's plan (leads,
sample grid, stored span), pages of chunks, and a unit's labels. No SQL of its own: it composes
the readers of each table family (waveform, patients, heart_rate, annotations, alarms)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import numpy as np
import psycopg

from ecgdash.core.clock import datetime_to_us, us_to_datetime
from ecgdash.core.dataset import ChunkBlock, Labels, PatientPlan, Unit
from ecgdash.core.dataset.chunks import block_from_rows
from ecgdash.core.dataset.layout import LeadInfo
from ecgdash.timescale import alarms, annotations, heart_rate, patients, waveform

PAGE_S = 1200.0  # chunk time read per query (20 min: ~14 k rows, ~20 MB for 2 leads at 360 Hz)
RHYTHM_LOOKBACK = timedelta(days=2)  # how far back a unit looks for the rhythm in force


def slack(fs: float) -> timedelta:
    """How far before a time a chunk covering it may start (chunks are ~1 s)."""
    return timedelta(seconds=max(10.0, 10.0 * 360 / fs))


def plan_patient(conn: psycopg.Connection, patient: str, start_us: int, end_us: int, bed: str = ""
                 ) -> PatientPlan | None:
    """The plan of `patient` over [start_us, end_us) clipped to its stored samples; None when it
    has none there. The grid's phase comes from the first stored chunk in reach (as the
    single-patient export takes it)."""
    fs_of = patients.sampling_rates(conn, [patient])
    if patient not in fs_of:
        return None
    fs = fs_of[patient]
    leads = tuple(LeadInfo(x.name, x.gain, x.baseline, x.units, x.adc_res, x.adc_zero)
                  for x in patients.leads(conn, patient))
    start, end = us_to_datetime(start_us), us_to_datetime(end_us)
    sl = slack(fs)
    first = waveform.chunk_at_or_before(conn, patient, start, start - sl)
    if first is None or first.time + timedelta(seconds=first.length / fs) <= start:
        first = waveform.first_chunk_after(conn, patient, start, end)
    last = waveform.last_chunk_before(conn, patient, end, start - sl)
    if first is None or last is None or not leads:
        return None
    s = max(start_us, datetime_to_us(first.time))
    e = min(end_us, datetime_to_us(last.time) + round(last.length * 1e6 / fs) + 1)
    if e <= s:
        return None
    return PatientPlan(patient, fs, leads, datetime_to_us(first.time), first.sample_index, s, e, bed)


def pages(conn: psycopg.Connection, plan: PatientPlan, unit: Unit, page_s: float = PAGE_S
          ) -> Iterator[ChunkBlock]:
    """The unit's chunks (and those just before it that may reach into it), page by page."""
    t = us_to_datetime(unit.t0_us) - slack(plan.fs)
    end = us_to_datetime(unit.t1_us)
    step = timedelta(seconds=page_s)
    while t < end:
        nxt = min(t + step, end)
        yield block_from_rows(waveform.chunk_rows(conn, plan.patient, t, nxt))
        t = nxt


def labels(conn: psycopg.Connection, plan: PatientPlan, unit: Unit) -> Labels:
    """Beats, quality windows, expert annotations in [t0, t1); alarm events on during it."""
    p, t0, t1 = plan.patient, us_to_datetime(unit.t0_us), us_to_datetime(unit.t1_us)
    b = heart_rate.beats_between(conn, p, t0, t1)
    q = heart_rate.quality_between(conn, p, t0, t1)
    a = annotations.between(conn, p, t0, t1)
    ev = alarms.events_between(conn, p, t0, t1)

    def us(ts: list) -> np.ndarray:
        return np.array([datetime_to_us(t) for t in ts], np.int64)

    def i(xs: list) -> np.ndarray:
        return np.array(xs, np.int64)

    def f(xs: list) -> np.ndarray:
        return np.array([np.nan if x is None else x for x in xs], np.float64)

    return Labels(
        beat_time_us=us([x.time for x in b]), beat_sample_index=i([x.sample_index for x in b]),
        beat_rr_ms=f([x.rr_ms for x in b]), beat_hr_bpm=f([x.hr_bpm for x in b]),
        beat_quality=f([x.quality for x in b]), beat_leads=[x.leads for x in b],
        quality_time_us=us([x.time for x in q]), quality_duration_s=f([x.duration_s for x in q]),
        quality_valid=np.array([x.valid for x in q], bool), quality_sqi=f([x.sqi for x in q]),
        quality_flags=[x.flags for x in q],
        ann_time_us=us([x.time for x in a]), ann_sample_index=i([x.sample_index for x in a]),
        ann_source=[x.source for x in a], ann_symbol=[x.symbol for x in a],
        ann_subtype=i([x.subtype for x in a]), ann_chan=i([x.chan for x in a]),
        ann_num=i([x.num for x in a]), ann_aux=[x.aux_note for x in a],
        rhythm_before=annotations.rhythm_at(conn, p, t0, t0 - RHYTHM_LOOKBACK),
        alarm_id=i([x.alarm_id for x in ev]), alarm_kind=[x.kind for x in ev],
        alarm_priority=[x.priority for x in ev], alarm_onset_us=us([x.onset for x in ev]),
        alarm_ended_us=np.array([datetime_to_us(x.ended) if x.ended else -1 for x in ev], np.int64),
        alarm_value=f([x.value for x in ev]), alarm_message=[x.message for x in ev],
        alarm_acked_by=[x.acked_by or "" for x in ev],
    )  # fmt: skip
