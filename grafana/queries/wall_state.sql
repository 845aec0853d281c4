-- Ward wall: signal state of $patient: 0 live, 1 noisy (over {{noisy_fraction}} of its newest
-- {{quality_window_s}} s of analysed windows unusable or flagged), 2 stale (newest sample over
-- {{stale_s}} s before the end of the range). Newest chunk by the primary key, per patient.
SELECT p.patient_id,
       CASE WHEN w.end_time IS NULL
                 OR $__timeTo()::timestamptz - w.end_time > INTERVAL '{{stale_s}} seconds' THEN 2
            WHEN q.bad > {{noisy_fraction}} THEN 1
            ELSE 0 END::float8 AS "state"
FROM patients p
LEFT JOIN LATERAL (
    SELECT time + cardinality(samples) * INTERVAL '1 second' / p.fs AS end_time FROM waveform
    WHERE patient_id = p.patient_id AND signal_index = 0 AND time <= $__timeTo()::timestamptz
    ORDER BY waveform.time DESC LIMIT 1  -- the column, not the end time: a backward index scan
) w ON true
LEFT JOIN LATERAL (
    SELECT avg((NOT sq.valid OR sq.flags <> '')::int) AS bad FROM signal_quality sq
    WHERE sq.patient_id = p.patient_id AND sq.time <= $__timeTo()::timestamptz
      AND sq.time > (SELECT max(time) FROM signal_quality
                     WHERE patient_id = p.patient_id AND time <= $__timeTo()::timestamptz)
                    - INTERVAL '{{quality_window_s}} seconds'
) q ON true
WHERE p.patient_id IN ($patient)
ORDER BY p.patient_id
