-- Pipeline health: messages dead-lettered within the range (malformed, unknown patient, ...).
SELECT count(*)::float8 AS "dead letters"
FROM dead_letters
WHERE $__timeFilter(recorded_at)
