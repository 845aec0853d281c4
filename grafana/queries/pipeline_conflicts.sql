-- Pipeline health: samples whose key (patient, lead, time) was stored before with other values,
-- recorded within the range (the stored values were kept; see README "Exactly once").
SELECT count(*)::float8 AS "sample conflicts"
FROM sample_conflicts
WHERE $__timeFilter(recorded_at)
