-- Patient view: how many seconds of the range each quality flag covers ('clean': none).
SELECT f.flag AS "flag", sum(q.duration_s)::float8 AS "seconds"
FROM signal_quality q
CROSS JOIN LATERAL unnest(string_to_array(coalesce(nullif(q.flags, ''), 'clean'), ',')) AS f (flag)
WHERE q.patient_id = '$patient' AND $__timeFilter(q.time)
GROUP BY 1
ORDER BY 2 DESC
