-- Pipeline health: the most frequent dead-letter reasons within the range.
SELECT reason AS "reason", count(*)::float8 AS "messages", max(recorded_at) AS "last seen"
FROM dead_letters
WHERE $__timeFilter(recorded_at)
GROUP BY reason
ORDER BY 2 DESC
LIMIT 20
