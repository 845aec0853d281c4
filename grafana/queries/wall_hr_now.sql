-- Ward wall: current heart rate of $patient, the mean of its last {{hr_now_beats}} beats with a
-- trusted rate (hr_bpm is NULL in windows of unusable signal) up to the end of the range.
-- Anchored on the newest beat, not on now(): the heart-rate job writes every minute or so.
SELECT p.patient_id, round(avg(b.hr_bpm))::float8 AS "HR"
FROM patients p
CROSS JOIN LATERAL (
    SELECT hr_bpm FROM beats
    WHERE patient_id = p.patient_id AND hr_bpm IS NOT NULL
      AND time <= $__timeTo()::timestamptz
      AND time > $__timeTo()::timestamptz - INTERVAL '{{hr_now_max_age_s}} seconds'
    ORDER BY time DESC LIMIT {{hr_now_beats}}
) b
WHERE p.patient_id IN ($patient)
GROUP BY p.patient_id
ORDER BY p.patient_id
