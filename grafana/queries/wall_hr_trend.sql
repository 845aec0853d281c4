-- Ward wall: heart rate of $patient over the range (30 min on the wall), mean per bucket of at
-- least 10 s, at most {{points}} buckets.
SELECT date_bin(greatest($__interval_ms, 10000,
                         ceil(($__unixEpochTo() - $__unixEpochFrom()) * 1000.0 / ({{points}} - 1)))
                * INTERVAL '1 millisecond', b.time, TIMESTAMPTZ 'epoch') AS "time",
       b.patient_id AS metric,
       avg(b.hr_bpm)::float8 AS "HR"
FROM patients p
JOIN beats b ON b.patient_id = p.patient_id
WHERE p.patient_id IN ($patient) AND $__timeFilter(b.time) AND b.hr_bpm IS NOT NULL
GROUP BY 1, 2
ORDER BY 1, 2
