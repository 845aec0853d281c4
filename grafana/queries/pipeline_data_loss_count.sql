-- Pipeline health: data-loss gaps recorded within the range (0 unless a job read on past them).
SELECT count(*)::float8 AS "data-loss gaps"
FROM data_loss_gaps
WHERE $__timeFilter(recorded_at)
