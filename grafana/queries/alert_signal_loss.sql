-- Alert signal loss: per patient that had samples in the evaluation range, seconds from the end
-- of its newest sample to the end of the range (no samples for {{signal_loss_s}} s fires).
-- A patient silent for the whole range drops out (discharged), so the alert then resolves.
SELECT p.patient_id,
       greatest(extract(epoch FROM $__timeTo()::timestamptz - w.end_time), 0)::float8 AS silent_s
FROM patients p
CROSS JOIN LATERAL (
    SELECT time + cardinality(samples) * INTERVAL '1 second' / p.fs AS end_time FROM waveform
    WHERE patient_id = p.patient_id AND signal_index = 0 AND time <= $__timeTo()::timestamptz
    ORDER BY waveform.time DESC LIMIT 1
) w
WHERE w.end_time >= $__timeFrom()::timestamptz
