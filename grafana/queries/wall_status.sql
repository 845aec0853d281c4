-- Ward wall, slot {{slot}}: the bed's active alarm, else its signal state. The alarm (from
-- alarms_active, the alarm engine's view, issue 11): the highest priority, then the newest,
-- marked as IEC 60601-1-8 marks priority ("!!!" high, "!!" medium, "!" low; the panel colours
-- it red, yellow, cyan) and suffixed "(ack)" once acknowledged. The state: "live", "noisy" (over
-- {{noisy_fraction}} of its newest {{quality_window_s}} s of analysed windows unusable or
-- flagged) or "stale" (no samples for {{stale_s}} s). Lookups bounded below ({{recent_s}} s).
WITH bed AS (
    SELECT b.bed, b.patient_id, p.fs
    FROM wall_beds($__timeTo()::timestamptz, '$page'::integer, {{per_page}}) b
    LEFT JOIN patients p ON p.patient_id = b.patient_id
    WHERE b.slot = {{slot}}
)
SELECT CASE WHEN al.text IS NOT NULL THEN al.text
            WHEN w.end_time IS NULL
                 OR $__timeTo()::timestamptz - w.end_time > INTERVAL '{{stale_s}} seconds' THEN 'stale'
            WHEN q.bad > {{noisy_fraction}} THEN 'noisy'
            ELSE 'live' END AS "status"
FROM bed
LEFT JOIN LATERAL (
    SELECT time + cardinality(samples) * INTERVAL '1 second' / bed.fs AS end_time FROM waveform
    WHERE patient_id = bed.patient_id AND signal_index = 0 AND time <= $__timeTo()::timestamptz
      AND time > $__timeTo()::timestamptz - INTERVAL '{{recent_s}} seconds'
    ORDER BY waveform.time DESC LIMIT 1  -- the column, not the end time: a backward index scan
) w ON true
LEFT JOIN LATERAL (
    SELECT CASE a.priority WHEN 'high' THEN '!!! ' WHEN 'medium' THEN '!! ' ELSE '! ' END
           || initcap(replace(a.kind, '_', ' ')) || CASE WHEN a.acked THEN ' (ack)' ELSE '' END
           AS text
    FROM alarms_active a
    WHERE a.patient_id = bed.patient_id
    ORDER BY CASE a.priority WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END, a.raised_at DESC
    LIMIT 1
) al ON true
LEFT JOIN LATERAL (
    SELECT max(time) AS newest FROM signal_quality
    WHERE patient_id = bed.patient_id AND time <= $__timeTo()::timestamptz
      AND time > $__timeTo()::timestamptz - INTERVAL '{{recent_s}} seconds'
) n ON true
LEFT JOIN LATERAL (
    SELECT avg((NOT sq.valid OR sq.flags <> '')::int) AS bad FROM signal_quality sq
    WHERE sq.patient_id = bed.patient_id AND sq.time <= n.newest
      AND sq.time > n.newest - INTERVAL '{{quality_window_s}} seconds'
) q ON true
