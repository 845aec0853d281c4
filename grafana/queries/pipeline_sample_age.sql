-- Pipeline health: per admitted bed (open admission at the end of the range) whose newest chunk
-- was stored within the range (this dashboard's range is processing time, like the ledger's), the
-- age of its newest sample at the end of the range and how long that sample took from the bedside
-- clock into the database (ingested_at - signal time: the raw writer's lag behind the live
-- stream). Admitted beds only, not every patient ever registered: a discharged patient's stream
-- is not expected, and its newest-chunk lookup would walk back through every chunk of its
-- history (one probe per hypertable chunk). Signal time cannot bound the lookup: a replay's
-- signal clock may lie years from the processing time. Newest chunk by the primary key.
SELECT a.bed AS "bed", p.patient_id AS "patient",
       extract(epoch FROM $__timeTo()::timestamptz - w.end_time)::float8 AS "newest sample age (s)",
       extract(epoch FROM w.ingested_at - w.end_time)::float8 AS "ingest delay (s)"
FROM admissions a
JOIN patients p ON p.patient_id = a.patient_id
CROSS JOIN LATERAL (
    SELECT time + cardinality(samples) * INTERVAL '1 second' / p.fs AS end_time, ingested_at
    FROM waveform
    WHERE patient_id = p.patient_id AND signal_index = 0
    ORDER BY waveform.time DESC LIMIT 1
) w
WHERE a.admitted_at <= $__timeTo()::timestamptz
  AND (a.discharged_at IS NULL OR a.discharged_at > $__timeTo()::timestamptz)
  AND w.ingested_at >= $__timeFrom()::timestamptz
ORDER BY 3 DESC
