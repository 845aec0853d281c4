"""Patients and their signals (``patients``, ``signals``): registration and lookups.

A metadata message registers a patient's stream and leads as a WFDB header describes them
(mV = (adc - baseline) / gain); samples are stored in ADC units against it. So the signals of a
registered patient never change: a registration with other leads, gains, baselines, ADC
settings, units or sampling rate is refused (the caller dead-letters it), because rewriting them
would silently change the meaning of every sample already stored. A new stream of the same
signals (another start time or record offset) updates the patient row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import psycopg

from ecgdash.core.clock import datetime_to_us, us_to_datetime
from ecgdash.core.codec import PatientMeta

_SIGNALS_OF = """
SELECT signal_index, lead, fs, gain, baseline, adc_res, adc_zero, units
FROM signals WHERE patient_id = %s ORDER BY signal_index"""
_PATIENT_UPSERT = """
INSERT INTO patients (patient_id, source_record, fs, start_time, source_offset, n_source_samples)
VALUES (%s, %s, %s, %s, %s, %s)
ON CONFLICT (patient_id) DO UPDATE SET source_record = EXCLUDED.source_record,
    fs = EXCLUDED.fs, start_time = EXCLUDED.start_time, source_offset = EXCLUDED.source_offset,
    n_source_samples = EXCLUDED.n_source_samples"""
_SIGNAL_UPSERT = """
INSERT INTO signals (patient_id, signal_index, lead, fs, gain, baseline, adc_res, adc_zero, units)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (patient_id, signal_index) DO UPDATE SET lead = EXCLUDED.lead, fs = EXCLUDED.fs,
    gain = EXCLUDED.gain, baseline = EXCLUDED.baseline, adc_res = EXCLUDED.adc_res,
    adc_zero = EXCLUDED.adc_zero, units = EXCLUDED.units"""
_REGISTERED = """
SELECT patient_id, count(*), min(fs), max(fs) FROM signals
WHERE patient_id = ANY(%s) GROUP BY patient_id"""
_FS = "SELECT patient_id, fs FROM patients WHERE patient_id = ANY(%s)"
_START_OF = "SELECT start_time FROM patients WHERE patient_id = %s"
_REFUSE_STREAM = """
INSERT INTO refused_streams (patient_id, start_time, reason) VALUES (%s, %s, %s)
ON CONFLICT (patient_id, start_time) DO NOTHING"""
_UNREFUSE_STREAM = "DELETE FROM refused_streams WHERE patient_id = %s AND start_time = %s"
_REFUSED = "SELECT patient_id, start_time, reason FROM refused_streams WHERE patient_id = ANY(%s)"
_SIGNALS = """
SELECT signal_index, lead, gain, baseline, adc_res, adc_zero, units
FROM signals WHERE patient_id = %s ORDER BY signal_index"""


@dataclass(frozen=True)
class Lead:
    """One registered signal of a patient (WFDB header fields)."""

    index: int
    name: str
    gain: float  # ADC units per physical unit
    baseline: int  # ADC units
    adc_res: int  # bits
    adc_zero: int  # ADC units
    units: str


@dataclass(frozen=True)
class Registration:
    """What ``signals`` holds for a patient: number of leads and the range of their fs (Hz)."""

    n_leads: int
    fs_min: float
    fs_max: float


def _difference(meta: PatientMeta, stored: list[tuple]) -> str | None:
    """Why `meta`'s signals differ from the stored ones (None if they are the same)."""
    if len(stored) != len(meta.signals):
        return f"{len(meta.signals)} signals, {len(stored)} registered"
    for (i, lead, fs, gain, baseline, res, zero, units), sig in zip(stored, meta.signals, strict=True):
        now = (sig.lead, meta.fs, sig.gain, sig.baseline, sig.adc_res, sig.adc_zero, sig.units)
        before = (lead, float(fs), float(gain), int(baseline), int(res), int(zero), units)
        if now != before:
            names = ("lead", "fs", "gain", "baseline", "adc_res", "adc_zero", "units")
            diff = [f"{n} {b!r} -> {a!r}" for n, a, b in zip(names, now, before, strict=True) if a != b]
            return f"signal {i}: " + ", ".join(diff)
    return None


def register(conn: psycopg.Connection, metas: Sequence[PatientMeta]) -> dict[int, str]:
    """Register each of `metas` (in the caller's transaction); returns {index: reason} of those
    refused: other signals than a registration already stored, or rejected by the database
    (each registration runs in its own savepoint, so one cannot fail the others)."""
    refused: dict[int, str] = {}
    for k, m in enumerate(metas):
        try:
            with conn.transaction(), conn.cursor() as cur:
                stored = cur.execute(_SIGNALS_OF, (m.patient,)).fetchall()
                diff = _difference(m, stored) if stored else None
                start = us_to_datetime(m.start_us)
                if diff:
                    refused[k] = (f"patient {m.patient!r} is registered with other signals ({diff}); "
                                  "stored samples keep their meaning: use a new patient id")
                    registered = cur.execute(_START_OF, (m.patient,)).fetchone()
                    if registered is None or registered[0] != start:
                        # its samples are dead letters too (waveform._check_registered); a stream
                        # starting when the registered one does cannot be told from it by its samples
                        cur.execute(_REFUSE_STREAM, (m.patient, start, refused[k]))
                    continue
                cur.execute(_UNREFUSE_STREAM, (m.patient, start))
                cur.execute(_PATIENT_UPSERT, (m.patient, m.record, m.fs, start,
                                              m.source_offset, m.n_source_samples))
                if not stored:
                    cur.executemany(_SIGNAL_UPSERT, [
                        (m.patient, i, s.lead, m.fs, s.gain, s.baseline, s.adc_res, s.adc_zero,
                         s.units)
                        for i, s in enumerate(m.signals)
                    ])
        except (psycopg.DataError, psycopg.IntegrityError) as exc:
            refused[k] = f"registration of {m.patient!r} rejected by the database: {exc}".strip()
    return refused


def registrations(conn: psycopg.Connection, patients: Sequence[str]) -> dict[str, Registration]:
    """The registration of each of `patients` that has one."""
    return {
        row[0]: Registration(int(row[1]), float(row[2]), float(row[3]))
        for row in conn.execute(_REGISTERED, (sorted(set(patients)),)).fetchall()
    }


def refused_streams(conn: psycopg.Connection, patients: Sequence[str]) -> dict[tuple[str, int], str]:
    """{(patient, stream start in epoch us): reason} of the streams of `patients` whose
    registration was refused (``register``)."""
    return {(r[0], datetime_to_us(r[1])): r[2]
            for r in conn.execute(_REFUSED, (sorted(set(patients)),)).fetchall()}


def sampling_rates(conn: psycopg.Connection, patients: Sequence[str]) -> dict[str, float]:
    """fs (Hz) of each of `patients` that is registered."""
    return {p: float(f) for p, f in conn.execute(_FS, (sorted(set(patients)),)).fetchall()}


def leads(conn: psycopg.Connection, patient: str) -> list[Lead]:
    """The registered signals of `patient`, in signal order (empty if none)."""
    return [Lead(int(r[0]), r[1], float(r[2]), int(r[3]), int(r[4]), int(r[5]), r[6])
            for r in conn.execute(_SIGNALS, (patient,)).fetchall()]


_KNOWN = "SELECT patient_id FROM patients WHERE patient_id = ANY(%s)"
_ALL = "SELECT patient_id FROM patients ORDER BY patient_id"


def known(conn: psycopg.Connection, patient_ids: Sequence[str]) -> set[str]:
    """Those of `patient_ids` that are registered."""
    return {r[0] for r in conn.execute(_KNOWN, (sorted(set(patient_ids)),)).fetchall()}


def all_ids(conn: psycopg.Connection) -> list[str]:
    """Every registered patient, in id order."""
    return [r[0] for r in conn.execute(_ALL).fetchall()]
