"""The alarm job's per-group state and row splitting, without Spark (pure functions)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ecgdash.core.qrs import StateError
from ecgdash.spark_jobs.alarm_job import pack_held, unpack_held
from ecgdash.spark_jobs.groups import by_patient

names = st.text(min_size=1, max_size=40)
held = st.dictionaries(names, st.tuples(st.binary(max_size=300),
                                        st.one_of(st.none(), st.integers(-(2**62), 2**62))),
                       max_size=20)


@given(held)
def test_group_state_round_trips(h: dict) -> None:
    assert unpack_held(pack_held(h)) == h


def test_group_state_rejects_trailing_bytes() -> None:
    with pytest.raises(StateError):
        unpack_held(pack_held({"a": (b"x", 1)}) + b"\0")


@given(st.lists(st.sampled_from(["p1", "p2", "bed-10", "é"]), max_size=50))
def test_by_patient_keeps_each_patients_order(rows: list[str]) -> None:
    arr = np.array(rows, dtype=object)
    seen = list(by_patient(arr))
    assert [p for p, _ in seen] == sorted(set(rows))
    for p, idx in seen:
        assert idx.tolist() == [i for i, r in enumerate(rows) if r == p]
