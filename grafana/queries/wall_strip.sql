-- Ward wall, slot {{slot}}: the primary lead (lowest signal index) of the bed in slot {{slot}} of
-- page $page ({{per_page}} beds a page, beds admitted at the end of the range), the last
-- {{strip_s}} s in mV from the window's median (the isoelectric line): a fixed gain on a fixed
-- axis that does not jump between refreshes, whatever the electrode offset.
-- Bucket: $__interval, widened so the range never holds more than {{points}} buckets. With the
-- panel's 1 ms interval and {{points}} points a {{strip_s}} s strip has 2 ms buckets: every sample
-- of a signal up to 500 Hz alone in its bucket, drawn as is; a bucket holding several samples is
-- drawn as its min then its max (the R peaks survive). Times are epoch ms in integer arithmetic.
WITH bed AS (
    SELECT b.bed, s.patient_id, s.signal_index, s.lead, s.fs, s.gain
    FROM wall_beds($__timeTo()::timestamptz, '$page'::integer, {{per_page}}) b
    CROSS JOIN LATERAL (
        SELECT patient_id, signal_index, lead, fs, gain FROM signals
        WHERE patient_id = b.patient_id ORDER BY signal_index LIMIT 1
    ) s
    WHERE b.slot = {{slot}}
), samples AS (
    SELECT bed.bed, bed.lead, bed.gain, o.v,
           (extract(epoch FROM w.time) * 1000)::bigint + ((o.i - 1) * 1000 / bed.fs)::bigint AS t_ms
    FROM bed
    JOIN waveform w ON w.patient_id = bed.patient_id AND w.signal_index = bed.signal_index
    CROSS JOIN LATERAL unnest(w.samples) WITH ORDINALITY AS o (v, i)
    WHERE w.time > $__timeFrom()::timestamptz - INTERVAL '2 seconds'
      AND w.time <= $__timeTo()::timestamptz
), windowed AS (
    SELECT * FROM samples
    WHERE t_ms BETWEEN $__unixEpochFrom() * 1000::bigint AND $__unixEpochTo() * 1000::bigint
), mid AS (
    SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY v) AS adc FROM windowed
), buckets AS (
    SELECT bed, lead, gain,
           t_ms / greatest($__interval_ms, ceil(($__unixEpochTo() - $__unixEpochFrom()) * 1000.0 / ({{points}} - 1)))::bigint
                * greatest($__interval_ms, ceil(($__unixEpochTo() - $__unixEpochFrom()) * 1000.0 / ({{points}} - 1)))::bigint AS bucket,
           min(v) AS lo, max(v) AS hi
    FROM windowed
    GROUP BY 1, 2, 3, 4
)
SELECT to_timestamp((b.bucket + x.off) / 1000.0) AS "time",
       b.bed || ' ' || b.lead AS metric,
       ((x.v - mid.adc) / b.gain)::float8 AS "mV"
FROM buckets b
CROSS JOIN mid
CROSS JOIN LATERAL (VALUES (0::bigint, b.lo),
                           (greatest($__interval_ms, ceil(($__unixEpochTo() - $__unixEpochFrom()) * 1000.0 / ({{points}} - 1)))::bigint / 2, b.hi)) AS x (off, v)
WHERE x.off = 0 OR b.hi <> b.lo
ORDER BY 1
