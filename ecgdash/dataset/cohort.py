"""Who is in a cohort: patients by id, the patients of beds (each over its stays), or every
patient with stored samples in the range; each clipped to its stored samples."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg

from ecgdash.core.clock import check_range, datetime_to_us
from ecgdash.core.dataset import PatientPlan
from ecgdash.core.errors import ExportError
from ecgdash.timescale import admissions, dataset_reads, patients


@dataclass(frozen=True)
class Selection:
    patients: tuple[str, ...] = ()
    beds: tuple[str, ...] = ()
    all: bool = False

    def describe(self) -> dict:
        if self.all:
            return {"all": True}
        if self.beds:
            return {"beds": list(self.beds)}
        return {"patients": list(self.patients)}


def resolve(conn: psycopg.Connection, sel: Selection, start: datetime, end: datetime
            ) -> list[PatientPlan]:
    """The cohort's plans, in the order asked (beds: bed then stay order); ExportError naming
    unknown patients or beds, or an empty cohort."""
    check_range(start, end)
    members: list[tuple[str, str, datetime, datetime]] = []
    if sel.all:
        members = [(p, "", start, end) for p in patients.all_ids(conn)]
    elif sel.beds:
        unknown = [b for b in sel.beds if b not in admissions.known_beds(conn, list(sel.beds))]
        if unknown:
            raise ExportError(f"unknown bed{'s' * (len(unknown) > 1)}: {', '.join(unknown)} "
                              "(no admission ever; see `ecgdash beds list --all`)")
        members = [(p, bed, a, b) for bed, p, a, b in admissions.stays_in_beds(conn, list(sel.beds),
                                                                              start, end)]
    else:
        if not sel.patients:
            raise ExportError("no cohort: give --patients, --beds or --all")
        known = patients.known(conn, sel.patients)
        unknown = [p for p in dict.fromkeys(sel.patients) if p not in known]
        if unknown:
            raise ExportError(f"unknown patient{'s' * (len(unknown) > 1)}: {', '.join(unknown)}")
        members = [(p, "", start, end) for p in dict.fromkeys(sel.patients)]
    plans = []
    for p, bed, a, b in members:
        plan = dataset_reads.plan_patient(conn, p, datetime_to_us(a), datetime_to_us(b), bed)
        if plan is not None:
            plans.append(plan)
    if not plans:
        who = sel.describe()
        raise ExportError(f"empty cohort: no stored samples for {who} in [{start.isoformat()}, "
                          f"{end.isoformat()})")
    records = {}
    for plan in plans:  # WFDB/npz file names are the ids with . and : replaced
        other = records.setdefault(plan.record, plan.patient)
        if other != plan.patient:
            raise ExportError(f"patients {other!r} and {plan.patient!r} share the file name "
                              f"{plan.record!r}: export them separately")
    return plans
