-- Patient view: signal quality over the range: mean SQI and the share of valid analysis
-- windows per bucket of at least $__interval, at most {{points}} buckets.
SELECT date_bin(greatest($__interval_ms,
                         ceil(($__unixEpochTo() - $__unixEpochFrom()) * 1000.0 / ({{points}} - 1)))
                * INTERVAL '1 millisecond', time, TIMESTAMPTZ 'epoch') AS "time",
       avg(sqi)::float8 AS "SQI",
       avg(valid::int)::float8 AS "valid share"
FROM signal_quality
WHERE patient_id = '$patient' AND $__timeFilter(time)
GROUP BY 1
ORDER BY 1
