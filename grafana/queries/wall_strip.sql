-- Ward wall, slot {{slot}}: the primary lead (lowest signal index) of the bed in slot {{slot}} of
-- page $page ({{per_page}} beds a page, beds admitted at the end of the range), the last
-- {{strip_s}} s in mV from the window's mean (within a fraction of a mV of the isoelectric line,
-- and cheaper than the median): a fixed gain on a fixed axis that does not jump between
-- refreshes, whatever the electrode offset.
-- Bucket: $__interval, widened so the range never holds more than {{points}} buckets. With the
-- panel's 1 ms interval and {{points}} points a {{strip_s}} s strip has 2 ms buckets: a signal up
-- to 500 Hz has every sample alone in its bucket and is drawn sample by sample (no grouping); a
-- faster one is drawn per bucket as its min then its max (the R peaks survive). Times are epoch
-- ms in integer arithmetic, the chunk's start computed once per chunk, and returned as epoch ms:
-- Grafana's SQL datasources read a numeric time column by its magnitude (1e12: milliseconds),
-- which spares the database a timestamp per sample (3600 rows a strip, 16 strips a refresh).
-- One series, named "mV" (the tile has no legend; the bed label is under the HR).
WITH bed AS (
    SELECT s.patient_id, s.signal_index, s.fs, s.gain
    FROM wall_beds($__timeTo()::timestamptz, '$page'::integer, {{per_page}}) b
    CROSS JOIN LATERAL (
        SELECT patient_id, signal_index, lead, fs, gain FROM signals
        WHERE patient_id = b.patient_id ORDER BY signal_index LIMIT 1
    ) s
    WHERE b.slot = {{slot}}
), chunks AS (
    -- per chunk, once: its start in epoch ms and the first and last sample index (1-based) that
    -- fall in the range, so that per sample only integer comparisons and one float multiply run
    SELECT w.samples, t.ms AS t0_ms,
           1000.0 / bed.fs AS step_ms,
           greatest(1, ceil(($__unixEpochFrom() * 1000::bigint - t.ms) * bed.fs / 1000.0) + 1) AS i_lo,
           floor(($__unixEpochTo() * 1000::bigint - t.ms) * bed.fs / 1000.0) + 1 AS i_hi
    FROM bed
    JOIN waveform w ON w.patient_id = bed.patient_id AND w.signal_index = bed.signal_index
    CROSS JOIN LATERAL (SELECT (extract(epoch FROM w.time) * 1000)::bigint AS ms) t
    WHERE w.time > $__timeFrom()::timestamptz - INTERVAL '2 seconds'
      AND w.time <= $__timeTo()::timestamptz
), windowed AS (
    SELECT o.v, c.t0_ms + ((o.i - 1) * c.step_ms)::bigint AS t_ms
    FROM chunks c
    CROSS JOIN LATERAL unnest(c.samples) WITH ORDINALITY AS o (v, i)
    WHERE o.i BETWEEN c.i_lo AND c.i_hi
), step AS (
    SELECT greatest($__interval_ms, ceil(($__unixEpochTo() - $__unixEpochFrom()) * 1000.0 / ({{points}} - 1)))::bigint AS ms
), drawn AS (
    -- The branch conditions are uncorrelated subqueries of one row each: PostgreSQL evaluates them
    -- once and runs one branch only (a one-time filter).
    -- Every sample alone in its bucket (sample spacing >= bucket): the samples themselves.
    SELECT w.t_ms, w.v FROM windowed w
    WHERE (SELECT 1000.0 / fs FROM bed) >= (SELECT ms FROM step)
    UNION ALL
    -- Several samples per bucket: its min at the bucket's start, its max half a bucket later.
    SELECT b.bucket + x.off, x.v
    FROM (
        SELECT w.t_ms / s.ms * s.ms AS bucket, s.ms, min(w.v) AS lo, max(w.v) AS hi
        FROM windowed w, step s
        WHERE (SELECT 1000.0 / fs FROM bed) < (SELECT ms FROM step)
        GROUP BY 1, 2
    ) b
    CROSS JOIN LATERAL (VALUES (0::bigint, b.lo), (b.ms / 2, b.hi)) AS x (off, v)
    WHERE x.off = 0 OR b.hi <> b.lo
)
SELECT d.t_ms AS "time",
       ((d.v - (SELECT avg(v)::float8 FROM windowed)) / (SELECT gain FROM bed))::real AS "mV"
FROM drawn d
ORDER BY d.t_ms
