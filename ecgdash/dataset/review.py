"""``--review-png``: a strip per alarm event whose onset lies in a cohort member's range."""

from __future__ import annotations

import psycopg

from ecgdash.core.clock import datetime_to_us, us_to_datetime
from ecgdash.core.dataset import PatientPlan, Unit
from ecgdash.core.dataset.grid import GridAssembler
from ecgdash.core.dataset.review import render_strip
from ecgdash.core.storage import FileEntry, Store
from ecgdash.timescale import alarms, dataset_reads

HALF_S = 5.0  # seconds each side of the onset


def write_review(conn: psycopg.Connection, plans: list[PatientPlan], store: Store) -> list[FileEntry]:
    out = []
    for plan in plans:
        for ev in alarms.events_between(conn, plan.patient, us_to_datetime(plan.start_us),
                                        us_to_datetime(plan.end_us)):
            onset = datetime_to_us(ev.onset)
            if not plan.start_us <= onset < plan.end_us:
                continue  # an event that began before the range: reviewed with its own range
            half = round(HALF_S * 1e6)
            unit = Unit(plan.patient, onset - half, onset + half)
            k0, k1 = plan.k_of(unit.t0_us), plan.k_of(unit.t1_us)
            g = GridAssembler(plan, k0, k1, k1 - k0)
            segs = [s for b in dataset_reads.pages(conn, plan, unit) for s in g.feed(b)]
            segs += list(g.finish())
            adc = segs[0].adc
            labels = dataset_reads.labels(conn, plan, unit)
            t_first = plan.t_of(k0)
            rel = f"review/{plan.record}/alarm-{ev.alarm_id}-{ev.kind}.png"
            value = "" if ev.value is None else f" {ev.value:g}"
            render_strip(store.path(rel), adc, plan.fs, plan.leads, (onset - t_first) / 1e6,
                         (labels.beat_time_us - t_first) / 1e6,
                         f"{ev.kind} ({ev.priority}){value} #{ev.alarm_id} {plan.patient} "
                         f"{ev.onset.isoformat(timespec='milliseconds')}")
            out.append(store.commit(rel))
    return out
