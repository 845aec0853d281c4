"""The exactly-once ledger (``writer_batches``): a batch is claimed once, in the caller's
transaction, and its counts land on its own row only. As ``ecg_writer``, on native PostgreSQL
(the ledger's SQL is the same on TimescaleDB, where ``writer_batches`` is a plain table)."""

from __future__ import annotations

import dataclasses
import uuid

import psycopg
import pytest

from ecgdash.timescale.ledger import BatchKey, claim, finish
from tests.helpers import Db

pytestmark = pytest.mark.integration
COLUMNS = "query_id, batch_id, query_name, messages, chunks, samples, duplicates_skipped, dead_lettered"


def _row(db: Db, key: BatchKey) -> tuple | None:
    with psycopg.connect(db.reader) as conn:
        return conn.execute(f"SELECT {COLUMNS} FROM writer_batches WHERE query_id = %s AND batch_id = %s",
                            (key.query_id, key.batch_id)).fetchone()


@pytest.fixture
def key() -> BatchKey:
    return BatchKey(f"q-{uuid.uuid4()}", "raw_writer", 41)


def test_batch_key_is_a_value() -> None:
    """Frozen and hashable: a key names a batch for good."""
    k = BatchKey("q", "raw_writer", 3)
    assert k == BatchKey("q", "raw_writer", 3) and len({k, BatchKey("q", "raw_writer", 3)}) == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        k.batch_id = 4  # type: ignore[misc]


def test_first_claim_records_the_batch(pg_native: Db, key: BatchKey) -> None:
    with psycopg.connect(pg_native.writer) as conn:
        assert claim(conn, key, 17) is True
    assert _row(pg_native, key) == (key.query_id, 41, "raw_writer", 17, 0, 0, 0, 0)


def test_second_claim_is_a_replay_and_changes_nothing(pg_native: Db, key: BatchKey) -> None:
    with psycopg.connect(pg_native.writer) as conn:
        assert claim(conn, key, 17) is True
        finish(conn, key, chunks=5, samples=1800, duplicates=1, dead=2)
        conn.commit()
        assert claim(conn, key, 99) is False
        assert claim(conn, BatchKey(key.query_id, "other_name", key.batch_id), 99) is False
        conn.commit()
    assert _row(pg_native, key) == (key.query_id, 41, "raw_writer", 17, 5, 1800, 1, 2)


def test_same_batch_id_of_another_query_is_another_batch(pg_native: Db, key: BatchKey) -> None:
    other_query = BatchKey(f"q-{uuid.uuid4()}", "raw_writer", key.batch_id)
    next_batch = BatchKey(key.query_id, "raw_writer", key.batch_id + 1)
    with psycopg.connect(pg_native.writer) as conn:
        assert claim(conn, key, 1) is True
        assert claim(conn, other_query, 2) is True
        assert claim(conn, next_batch, 3) is True
        finish(conn, key, chunks=10, samples=20, duplicates=30, dead=40)
    # finish fills in its own batch's row only
    assert _row(pg_native, key) == (key.query_id, 41, "raw_writer", 1, 10, 20, 30, 40)
    assert _row(pg_native, other_query) == (other_query.query_id, 41, "raw_writer", 2, 0, 0, 0, 0)
    assert _row(pg_native, next_batch) == (key.query_id, 42, "raw_writer", 3, 0, 0, 0, 0)


def test_finish_counts_default_to_zero(pg_native: Db, key: BatchKey) -> None:
    """The heart-rate writer gives only `chunks`: the other counts are 0, not left over."""
    with psycopg.connect(pg_native.writer) as conn:
        assert claim(conn, key, 8) is True
        finish(conn, key, chunks=6)
    assert _row(pg_native, key) == (key.query_id, 41, "raw_writer", 8, 6, 0, 0, 0)


def test_claim_commits_with_the_callers_transaction(pg_native: Db, key: BatchKey) -> None:
    """A batch whose transaction rolled back was never written: it can be claimed again."""
    with psycopg.connect(pg_native.writer) as conn:
        with pytest.raises(RuntimeError, match="crash before commit"), conn.transaction():
            assert claim(conn, key, 5) is True
            finish(conn, key, chunks=1)
            raise RuntimeError("crash before commit")
        assert _row(pg_native, key) is None
        with conn.transaction():
            assert claim(conn, key, 5) is True
    assert _row(pg_native, key) == (key.query_id, 41, "raw_writer", 5, 0, 0, 0, 0)


def test_finish_of_an_unclaimed_batch_writes_nothing(pg_native: Db, key: BatchKey) -> None:
    with psycopg.connect(pg_native.writer) as conn:
        finish(conn, key, chunks=3, samples=3, duplicates=3, dead=3)
    assert _row(pg_native, key) is None
