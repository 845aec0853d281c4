"""The 2018 seed's design, rebuilt on today's services so bench/capacity.py can compare it.

The seed sent one Kafka message per sample (no key, the send time as the sample's time, values
in mV as text) and stored one row per sample in a table keyed on ``time`` alone with ``ON
CONFLICT DO NOTHING``. Here the same design runs on our broker, our Spark source and the same
database, given our faster parts where the design allows them (a batched producer with acks=1,
COPY into a staging table instead of one INSERT per row), so what is measured is the design:

    python bench/seed_design.py producer --bootstrap B --beds N --seconds S --out P.json
    python bench/seed_design.py writer --bootstrap B --dsn DSN --checkpoint DIR

``producer`` paces every bed's samples at 360 Hz (2 leads in one JSON message per sample);
``writer`` is a 2-s Spark query writing ``seed_waveform``. The table is a bench artefact, not
one of ours, so its SQL lives here.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
TOPIC = "ecg.waveform"

SEED_TABLE = """
CREATE TABLE IF NOT EXISTS seed_waveform (
    time       timestamptz PRIMARY KEY,  -- the seed keyed on time alone
    patient_id text NOT NULL,
    lead_1     real,
    lead_2     real
);
CREATE TABLE IF NOT EXISTS seed_batches (
    batch_id bigint PRIMARY KEY, messages integer NOT NULL, inserted integer NOT NULL,
    committed_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
"""
_STAGE = """CREATE TEMP TABLE IF NOT EXISTS seed_stage (time timestamptz, patient_id text,
    lead_1 real, lead_2 real) ON COMMIT DELETE ROWS"""
_MERGE = """INSERT INTO seed_waveform SELECT * FROM seed_stage ON CONFLICT (time) DO NOTHING"""


def create_table(conn: psycopg.Connection) -> None:
    conn.execute(SEED_TABLE)


def storage(conn: psycopg.Connection) -> dict:
    rows = conn.execute("SELECT count(*) FROM seed_waveform").fetchone()[0]
    size = conn.execute("SELECT pg_total_relation_size('seed_waveform')").fetchone()[0]
    msgs, ins = conn.execute(
        "SELECT coalesce(sum(messages), 0), coalesce(sum(inserted), 0) FROM seed_batches").fetchone()
    return {"rows": rows, "bytes": size, "bytes_per_row": round(size / max(rows, 1), 1),
            "bytes_per_sample": round(size / max(2 * rows, 1), 2),  # 2 leads a row
            "messages_consumed": int(msgs), "rows_inserted": int(ins),
            "rows_lost_to_time_key": int(msgs) - int(ins)}


def run_producer(args: argparse.Namespace) -> None:
    from ecgdash.core.kafka import Publisher
    from ecgdash.ingest.records import read_record

    folder = Path(args.records)
    recs = [read_record(p.with_suffix("")) for p in sorted(folder.glob("*.hea"))]
    pub = Publisher(args.bootstrap, TOPIC, acks=1, max_in_flight_requests_per_connection=5)
    beds = [(f"{args.patient_prefix}{k}", recs[k % len(recs)], (k // len(recs)) * 97 * 360)
            for k in range(args.beds)]
    mv = [((r.adc - [s.baseline for s in r.signals]) / [s.gain for s in r.signals]) for r in recs]
    fs = 360.0
    t0 = time.monotonic()
    sent = 0
    late = 0.0
    cpu0 = time.process_time()
    total = int(args.seconds * fs)
    i = 0
    while i < total:
        due = t0 + (i + 1) / fs
        wait = due - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        else:
            late = max(late, -wait)
        # every sample due by now, one message each (the seed's loop), send time as its time
        now = time.monotonic()
        upto = min(total, int((now - t0) * fs))
        upto = max(upto, i + 1)
        for j in range(i, upto):
            for k, (pid, rec, off) in enumerate(beds):
                v = mv[k % len(recs)][(off + j) % rec.n_samples]
                doc = {"patient": pid, "time": datetime.now(UTC).isoformat(),
                       "lead_1": round(float(v[0]), 3), "lead_2": round(float(v[1]), 3)}
                pub.send(None, json.dumps(doc).encode())
                sent += 1
        i = upto
    pub.flush()
    pub.close()
    Path(args.out).write_text(json.dumps({
        "beds": args.beds, "messages": sent, "late_s_max": round(late, 3),
        "cpu_s": round(time.process_time() - cpu0, 2)}))


def run_writer(args: argparse.Namespace) -> None:
    from ecgdash.spark_jobs.session import StreamSource, make_spark, read_topic, start_query

    spark = make_spark("local[2]", "seed-writer")
    conn = psycopg.connect(args.dsn)

    def sink(df, batch_id: int) -> None:
        values = df.select("value").toArrow().column(0).to_pylist()
        with conn.transaction():
            if conn.execute("SELECT 1 FROM seed_batches WHERE batch_id = %s", (batch_id,)).fetchone():
                return
            conn.execute(_STAGE)
            with conn.cursor() as cur:
                with cur.copy("COPY seed_stage FROM STDIN") as copy:
                    for v in values:
                        d = json.loads(v)
                        copy.write_row((d["time"], d["patient"], d["lead_1"], d["lead_2"]))
                cur.execute(_MERGE)
                ins = cur.rowcount
            conn.execute("INSERT INTO seed_batches (batch_id, messages, inserted) VALUES (%s, %s, %s)",
                         (batch_id, len(values), ins))

    src = StreamSource(args.bootstrap, TOPIC)
    q = start_query(read_topic(spark, src, "seed_writer"), "seed_writer", sink,
                    Path(args.checkpoint), 2.0, False)
    try:
        q.awaitTermination()
    finally:
        conn.close()


def main() -> None:
    sys.path.insert(0, str(ROOT))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="role", required=True)
    p = sub.add_parser("producer")
    p.add_argument("--bootstrap", required=True)
    p.add_argument("--beds", type=int, required=True)
    p.add_argument("--seconds", type=float, required=True)
    p.add_argument("--records", required=True)
    p.add_argument("--patient-prefix", default="s")
    p.add_argument("--out", required=True)
    w = sub.add_parser("writer")
    w.add_argument("--bootstrap", required=True)
    w.add_argument("--dsn", required=True)
    w.add_argument("--checkpoint", required=True)
    w.add_argument("--out", default=None)
    args = ap.parse_args()
    {"producer": run_producer, "writer": run_writer}[args.role](args)


if __name__ == "__main__":
    main()
