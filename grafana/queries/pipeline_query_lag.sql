-- Pipeline health: how far each Spark query lags. Grafana cannot read Kafka's committed offsets
-- (consumer group ecgdash.raw_writer), so the lag is measured in time from the writer ledger:
-- seconds since the query's newest committed batch at the end of the range (a stopped or stuck
-- query grows without bound; a healthy raw writer stays near its 2 s trigger), and the
-- batches, messages and duplicates it committed within the range.
SELECT query_name AS "query",
       extract(epoch FROM $__timeTo()::timestamptz - max(committed_at))::float8 AS "since last batch (s)",
       count(*) FILTER (WHERE committed_at >= $__timeFrom()::timestamptz)::float8 AS "batches",
       coalesce(sum(messages) FILTER (WHERE committed_at >= $__timeFrom()::timestamptz), 0)::float8
           AS "messages",
       coalesce(sum(duplicates_skipped) FILTER (WHERE committed_at >= $__timeFrom()::timestamptz), 0)::float8
           AS "duplicates skipped"
FROM writer_batches
WHERE committed_at <= $__timeTo()::timestamptz
GROUP BY query_name
ORDER BY 2 DESC
