-- Pipeline health: per patient whose newest chunk was stored within the range (this dashboard's
-- range is processing time, like the ledger's), the age of its newest sample at the end of the
-- range and how long that sample took from the bedside clock into the database (ingested_at -
-- signal time: the raw writer's lag behind the live stream). Newest chunk by the primary key,
-- one index probe per patient.
SELECT p.patient_id AS "patient",
       extract(epoch FROM $__timeTo()::timestamptz - w.end_time)::float8 AS "newest sample age (s)",
       extract(epoch FROM w.ingested_at - w.end_time)::float8 AS "ingest delay (s)"
FROM patients p
CROSS JOIN LATERAL (
    SELECT time + cardinality(samples) * INTERVAL '1 second' / p.fs AS end_time, ingested_at
    FROM waveform
    WHERE patient_id = p.patient_id AND signal_index = 0 AND time <= $__timeTo()::timestamptz
    ORDER BY waveform.time DESC LIMIT 1
) w
WHERE w.ingested_at >= $__timeFrom()::timestamptz
ORDER BY 2 DESC
