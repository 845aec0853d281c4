-- Alert rule "ECG alarms not decided": seconds since the alarm job last committed a micro-batch,
-- read from its ledger, independent of the job and of the watchdog. The job commits every ~2 s
-- while data flows. No row (nothing committed for {{stale_window_s}} s: the job is stopped or
-- was never started) is "no data", which this rule treats as firing, as it does a failed query
-- (database unreachable): a stopped analysis raises an alarm, never silence.
SELECT query_name AS job, extract(epoch FROM now() - max(committed_at))::float8 AS silent_s
FROM writer_batches
WHERE query_name = 'alarm_job' AND committed_at > now() - INTERVAL '{{stale_window_s}} seconds'
GROUP BY query_name
