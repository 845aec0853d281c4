"""COPY throughput into the embedded TimescaleDB (PGlite wire server) from psycopg.

Rows are (patient int, ts timestamptz, samples smallint[360]): one second of one ECG lead at
360 Hz in ADC units, the product's storage row. The table is a hypertable with an index on
(patient, ts), as in the product. Prints one line per case and writes JSON.

    python bench/pglite_copy.py --rows 20000 --batch 2000 --json bench/results/pglite_copy.json
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import psycopg

from ecgdash.devstack.pglite import IN_MEMORY, start_pglite, stop_process
from ecgdash.devstack.procs import LOCALHOST, free_port

FS_HZ = 360
T0 = datetime(2024, 1, 1, tzinfo=UTC)
PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
INT2_OID = 21
# One binary COPY tuple of (int4, timestamptz, int2[FS_HZ]), big-endian and unpadded.
TUPLE = np.dtype(
    [
        ("nfields", ">i2"),
        ("len_patient", ">i4"),
        ("patient", ">i4"),
        ("len_ts", ">i4"),
        ("ts_us", ">i8"),
        ("len_arr", ">i4"),
        ("ndim", ">i4"),
        ("has_null", ">i4"),
        ("elem_oid", ">i4"),
        ("dim", ">i4"),
        ("lbound", ">i4"),
        ("samples", [("len", ">i4"), ("value", ">i2")], (FS_HZ,)),
    ]
)


def make_rows(n: int, seed: int = 0) -> list[tuple[int, datetime, list[int]]]:
    rng = random.Random(seed)
    base = [rng.randint(-2048, 2047) for _ in range(FS_HZ)]
    return [
        (i % 48, T0 + timedelta(seconds=i // 48), base[i % 7 :] + base[: i % 7]) for i in range(n)
    ]


def encode_binary(rows: list[tuple[int, datetime, list[int]]]) -> bytes:
    """The whole binary COPY stream, built with numpy instead of psycopg's per-value dumpers."""
    out = np.zeros(len(rows), dtype=TUPLE)
    out["nfields"], out["len_patient"], out["len_ts"] = 3, 4, 8
    out["len_arr"] = 20 + 6 * FS_HZ
    out["ndim"], out["elem_oid"], out["dim"], out["lbound"] = 1, INT2_OID, FS_HZ, 1
    out["patient"] = [r[0] for r in rows]
    out["ts_us"] = [(r[1] - PG_EPOCH) // timedelta(microseconds=1) for r in rows]
    out["samples"]["len"] = 2
    out["samples"]["value"] = np.array([r[2] for r in rows], dtype=np.int16)
    header = b"PGCOPY\n\xff\r\n\0" + bytes(8)
    return header + out.tobytes() + b"\xff\xff"


def copy_prebuilt(conn: psycopg.Connection, table: str, rows: list, batch: int) -> float:
    """COPY pre-encoded binary batches: measures the server, not psycopg's dumpers."""
    start = time.perf_counter()
    for lo in range(0, len(rows), batch):
        payload = encode_binary(rows[lo : lo + batch])
        with conn.cursor().copy(
            f"COPY {table} (patient, ts, samples) FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.write(payload)
    return time.perf_counter() - start


def copy_rows(conn: psycopg.Connection, table: str, rows: list, batch: int, binary: bool) -> float:
    """COPY `rows` in statements of `batch` rows; returns seconds."""
    fmt = " (FORMAT BINARY)" if binary else ""
    start = time.perf_counter()
    for lo in range(0, len(rows), batch):
        with conn.cursor().copy(f"COPY {table} (patient, ts, samples) FROM STDIN{fmt}") as copy:
            if binary:
                copy.set_types(["int4", "timestamptz", "int2[]"])
            for row in rows[lo : lo + batch]:
                copy.write_row(row)
    return time.perf_counter() - start


def run_case(port: int, name: str, rows: list, batch: int, fmt: str) -> dict[str, object]:
    with psycopg.connect(
        f"host={LOCALHOST} port={port} user=postgres dbname=ecg sslmode=disable", autocommit=True
    ) as conn:
        conn.execute(
            f"CREATE TABLE {name} (patient int NOT NULL, ts timestamptz NOT NULL, "
            "samples smallint[] NOT NULL)"
        )
        conn.execute(f"SELECT create_hypertable('{name}', by_range('ts', INTERVAL '1 hour'))")
        conn.execute(f"CREATE INDEX ON {name} (patient, ts)")
        if fmt == "numpy":
            seconds = copy_prebuilt(conn, name, rows, batch)
        else:
            seconds = copy_rows(conn, name, rows, batch, binary=fmt == "binary")
        count = conn.execute(f"SELECT count(*) FROM {name}").fetchone()
        assert count == (len(rows),), count
        if fmt == "numpy":
            first = conn.execute(
                f"SELECT patient, ts, samples FROM {name} ORDER BY ts, patient LIMIT 1"
            ).fetchone()
            assert first == rows[0], "numpy encoder does not round-trip"
    return {
        "case": name,
        "format": fmt,
        "rows": len(rows),
        "batch_rows": batch,
        "seconds": round(seconds, 3),
        "rows_per_s": round(len(rows) / seconds),
    }


# text and binary: psycopg write_row (its dumpers); numpy: binary stream built in bulk
FORMATS = ("text", "binary", "numpy")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=2_000, help="rows per COPY statement")
    parser.add_argument("--json", type=Path, default=Path("bench/results/pglite_copy.json"))
    args = parser.parse_args()
    rows = make_rows(args.rows)
    results: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for storage, data_dir in (("memory", IN_MEMORY), ("disk", Path(tmp) / "data")):
            port = free_port()
            started = time.perf_counter()
            proc = start_pglite(data_dir, port, Path(tmp) / f"{storage}.log")
            start_s = time.perf_counter() - started
            print(f"{storage}: server ready in {start_s:.1f} s")
            try:
                for fmt in FORMATS:
                    res = run_case(port, f"bench_{storage}_{fmt}", rows, args.batch, fmt)
                    res.update(storage=storage, server_start_s=round(start_s, 1))
                    results.append(res)
                    print(
                        f"{storage:6} {res['format']:6} {res['rows']} rows in "
                        f"{res['seconds']} s: {res['rows_per_s']} rows/s"
                    )
            finally:
                stop_process(proc)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps(
            {"machine": platform.platform(), "samples_per_row": FS_HZ, "results": results}, indent=2
        )
    )
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
