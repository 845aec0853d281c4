-- Pipeline health: which patients' streams were resent with other values, within the range.
SELECT patient_id AS "patient", count(*)::float8 AS "conflicting rows",
       min(time) AS "first sample time", max(recorded_at) AS "last recorded"
FROM sample_conflicts
WHERE $__timeFilter(recorded_at)
GROUP BY patient_id
ORDER BY 2 DESC
LIMIT 20
