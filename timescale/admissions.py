"""Beds and admissions (``admissions``): who lies in which bed, from when until when.

The ward wall shows the beds with an open admission; ``ecgdash beds admit|discharge|list`` and
the demo fill the table. At most one open admission per bed and per patient (partial unique
indexes); a second one is refused with an error naming the bed or patient that holds it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg

from ecgdash.core.errors import ECGDashError


class AdmissionError(ECGDashError):
    """An admission or discharge that contradicts the open admissions (names bed and patient)."""


@dataclass(frozen=True)
class Admission:
    bed: str
    patient_id: str
    admitted_at: datetime
    discharged_at: datetime | None


_OPEN_BY_BED_OR_PATIENT = """
SELECT bed, patient_id FROM admissions
WHERE discharged_at IS NULL AND (bed = %s OR patient_id = %s)"""
_ADMIT = """
INSERT INTO admissions (bed, patient_id, admitted_at) VALUES (%s, %s, coalesce(%s, now()))
RETURNING bed, patient_id, admitted_at, discharged_at"""
_DISCHARGE = """
UPDATE admissions SET discharged_at = coalesce(%s, now())
WHERE discharged_at IS NULL AND (bed = %s OR patient_id = %s)
RETURNING bed, patient_id, admitted_at, discharged_at"""
_LIST = """
SELECT bed, patient_id, admitted_at, discharged_at FROM admissions
WHERE %s OR discharged_at IS NULL
ORDER BY discharged_at IS NOT NULL, substring(bed FROM '^[^0-9]*'),
         coalesce(substring(bed FROM '[0-9]+')::numeric, -1), bed, admitted_at"""
_PAGE = "SELECT slot, bed, patient_id FROM wall_beds(coalesce(%s, now()), %s, %s) ORDER BY slot"


def admit(conn: psycopg.Connection, bed: str, patient_id: str, at: datetime | None = None) -> Admission:
    """Open an admission of `patient_id` in `bed` (now, or at `at`)."""
    with conn.transaction():
        for held_bed, held_patient in conn.execute(_OPEN_BY_BED_OR_PATIENT, (bed, patient_id)):
            if held_bed == bed and held_patient == patient_id:
                raise AdmissionError(f"patient {patient_id} is already admitted in bed {bed}")
            if held_bed == bed:
                raise AdmissionError(f"bed {bed} is occupied by patient {held_patient}: "
                                     f"discharge it first")
            raise AdmissionError(f"patient {patient_id} is admitted in bed {held_bed}: "
                                 f"discharge it first")
        try:
            row = conn.execute(_ADMIT, (bed, patient_id, at)).fetchone()
        except psycopg.errors.CheckViolation as exc:
            raise AdmissionError(f"bad bed label {bed!r} or patient id {patient_id!r} "
                                 f"(letters, digits, space and _.:/- only): {exc}") from exc
    assert row is not None
    return Admission(*row)


def discharge(conn: psycopg.Connection, bed_or_patient: str, at: datetime | None = None) -> Admission:
    """Close the open admission of a bed or of a patient (now, or at `at`)."""
    with conn.transaction():
        rows = conn.execute(_DISCHARGE, (at, bed_or_patient, bed_or_patient)).fetchall()
        if not rows:
            raise AdmissionError(f"no open admission for bed or patient {bed_or_patient!r}")
        if len(rows) > 1:  # a bed label equal to another admission's patient id
            raise AdmissionError(f"{bed_or_patient!r} names both a bed and a patient of different "
                                 f"admissions: nothing discharged")
    return Admission(*rows[0])


def admissions(conn: psycopg.Connection, *, include_discharged: bool = False) -> list[Admission]:
    """Open admissions in bed order (then, if asked, the discharged ones)."""
    return [Admission(*r) for r in conn.execute(_LIST, (include_discharged,)).fetchall()]


def wall_page(conn: psycopg.Connection, page: int, per_page: int,
              at: datetime | None = None) -> list[tuple[int, str, str]]:
    """(slot, bed, patient) of the wall's page `page` at `at` (the same function Grafana calls)."""
    return [(int(s), b, p) for s, b, p in conn.execute(_PAGE, (at, page, per_page)).fetchall()]


# --- cohorts (dataset exports) -------------------------------------------------------------------

_KNOWN_BEDS = "SELECT DISTINCT bed FROM admissions WHERE bed = ANY(%s)"
_IN_BEDS = """
SELECT bed, patient_id, greatest(admitted_at, %s), least(coalesce(discharged_at, %s), %s)
FROM admissions
WHERE bed = ANY(%s) AND admitted_at < %s AND (discharged_at IS NULL OR discharged_at > %s)
ORDER BY bed, admitted_at"""


def known_beds(conn: psycopg.Connection, beds: list[str]) -> set[str]:
    """Those of `beds` that have ever had an admission."""
    return {r[0] for r in conn.execute(_KNOWN_BEDS, (beds,)).fetchall()}


def stays_in_beds(conn: psycopg.Connection, beds: list[str], t0: datetime, t1: datetime
                  ) -> list[tuple[str, str, datetime, datetime]]:
    """(bed, patient, from, until) of each admission to `beds` overlapping [t0, t1), clipped to
    it, in bed and admission order."""
    return [(r[0], r[1], r[2], r[3])
            for r in conn.execute(_IN_BEDS, (t0, t1, t1, beds, t1, t0)).fetchall()]
