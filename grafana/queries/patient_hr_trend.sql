-- Patient view: heart rate trend from hr_1m up to {{hr_1h_from_s}} s of range, from hr_1h beyond
-- (one branch runs: constant conditions). Means are re-aggregated exactly from sums and counts
-- into buckets of at least $__interval, at most {{points}} of them.
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
       (sum(hr_sum) / nullif(sum(hr_n), 0))::float8 AS "HR mean",
       min(hr_min)::float8 AS "HR min",
       max(hr_max)::float8 AS "HR max"
FROM src
GROUP BY 1
ORDER BY 1
