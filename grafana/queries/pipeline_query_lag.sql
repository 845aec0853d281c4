-- Pipeline health: how far each Spark query lags. Grafana cannot read Kafka's committed offsets
-- (consumer group ecgdash.raw_writer), so the lag is measured in time from the writer ledger:
-- seconds since the query's newest committed batch at the end of the range (a stopped or stuck
-- query grows without bound; a healthy raw writer stays near its 2 s trigger), and the
-- batches, messages and duplicates it committed within the range.
-- The query names come from a skip scan of the (query_name, committed_at) index, and each
-- figure from an index range of one query: the ledger's history (1.3 M batches a month at a 2 s
-- trigger) is never read in full.
WITH RECURSIVE names AS (
    (SELECT query_name FROM writer_batches ORDER BY query_name LIMIT 1)
    UNION ALL
    SELECT (SELECT w.query_name FROM writer_batches w WHERE w.query_name > n.query_name
            ORDER BY w.query_name LIMIT 1)
    FROM names n WHERE n.query_name IS NOT NULL
)
SELECT n.query_name AS "query",
       extract(epoch FROM $__timeTo()::timestamptz - last.committed_at)::float8 AS "since last batch (s)",
       r.batches::float8 AS "batches",
       coalesce(r.messages, 0)::float8 AS "messages",
       coalesce(r.duplicates, 0)::float8 AS "duplicates skipped"
FROM names n
CROSS JOIN LATERAL (
    SELECT committed_at FROM writer_batches
    WHERE query_name = n.query_name AND committed_at <= $__timeTo()::timestamptz
    ORDER BY committed_at DESC LIMIT 1
) last
CROSS JOIN LATERAL (
    SELECT count(*) AS batches, sum(messages) AS messages, sum(duplicates_skipped) AS duplicates
    FROM writer_batches
    WHERE query_name = n.query_name AND $__timeFilter(committed_at)
) r
WHERE n.query_name IS NOT NULL
ORDER BY 2 DESC
