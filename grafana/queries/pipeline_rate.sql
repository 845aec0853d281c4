-- Pipeline health: samples per second committed by each Spark query (from the writer ledger),
-- per bucket of at least 10 s (a batch commits every 2 s), at most {{points}} buckets.
SELECT date_bin(greatest($__interval_ms, 10000,
                         ceil(($__unixEpochTo() - $__unixEpochFrom()) * 1000.0 / ({{points}} - 1)))
                * INTERVAL '1 millisecond', committed_at, TIMESTAMPTZ 'epoch') AS "time",
       query_name AS metric,
       (sum(samples) / (greatest($__interval_ms, 10000,
                                ceil(($__unixEpochTo() - $__unixEpochFrom()) * 1000.0 / ({{points}} - 1)))
                        / 1000.0))::float8 AS "samples/s"
FROM writer_batches
WHERE $__timeFilter(committed_at)
GROUP BY 1, 2
ORDER BY 1, 2
