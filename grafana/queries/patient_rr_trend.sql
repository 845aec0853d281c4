-- Patient view: RR interval trend from the same rollups as the HR trend (hr_1m up to
-- {{hr_1h_from_s}} s of range, hr_1h beyond). Each beat's HR is 60000 / RR, so the shortest and
-- longest RR of a bucket are exactly 60000 / max HR and 60000 / min HR; the mean RR is given as
-- 60000 / mean HR (the rollups keep no RR sum; within 1 % for a regular rhythm).
WITH src AS (
    SELECT bucket, hr_sum, hr_n, hr_min, hr_max FROM hr_1m
    WHERE patient_id = '$patient' AND $__timeFilter(bucket)
      AND $__unixEpochTo() - $__unixEpochFrom() <= {{hr_1h_from_s}}
    UNION ALL
    SELECT bucket, hr_sum, hr_n, hr_min, hr_max FROM hr_1h
    WHERE patient_id = '$patient' AND $__timeFilter(bucket)
      AND $__unixEpochTo() - $__unixEpochFrom() > {{hr_1h_from_s}}
)
SELECT date_bin(greatest($__interval_ms,
                         ceil(($__unixEpochTo() - $__unixEpochFrom()) * 1000.0 / ({{points}} - 1)))
                * INTERVAL '1 millisecond', bucket, TIMESTAMPTZ 'epoch') AS "time",
       (60000 * sum(hr_n) / nullif(sum(hr_sum), 0))::float8 AS "RR (from mean HR)",
       (60000 / nullif(max(hr_max), 0))::float8 AS "RR min",
       (60000 / nullif(min(hr_min), 0))::float8 AS "RR max"
FROM src
GROUP BY 1
ORDER BY 1
