-- Ward wall, slot {{slot}}: the heart rate of the bed in slot {{slot}} of page $page, one row
-- labelled with the bed. HR = mean of its newest {{hr_now_beats}} trusted beats (no older than
-- {{hr_now_max_age_s}} s); -1 (shown "ASY") when the analysed signal runs {{no_beat_s}} s or more past
-- the newest beat and is not unusable for another reason (a flat line counts as asystole);
-- -2 (shown "---") when there is no signal ({{stale_s}} s without samples), the signal without
-- beats is noisy or missing, or no trusted beat is recent. Every lookup of a newest row is
-- bounded below ({{recent_s}} s), so a bed's history is never walked.
WITH bed AS (
    SELECT b.bed, b.patient_id, p.fs
    FROM wall_beds($__timeTo()::timestamptz, '$page'::integer, {{per_page}}) b
    LEFT JOIN patients p ON p.patient_id = b.patient_id
    WHERE b.slot = {{slot}}
)
SELECT $__timeTo()::timestamptz AS "time",
       bed.bed AS "bed",
       (CASE
            WHEN w.end_time IS NULL
                 OR $__timeTo()::timestamptz - w.end_time > INTERVAL '{{stale_s}} seconds' THEN -2
            WHEN q.end_time IS NOT NULL
                 AND (lb.time IS NULL OR q.end_time - lb.time >= INTERVAL '{{no_beat_s}} seconds')
                 THEN CASE WHEN quiet.unusable THEN -2 ELSE -1 END
            ELSE coalesce(round(hr.bpm), -2)
        END)::float8 AS "HR"
FROM bed
LEFT JOIN LATERAL (
    SELECT time + cardinality(samples) * INTERVAL '1 second' / bed.fs AS end_time FROM waveform
    WHERE patient_id = bed.patient_id AND signal_index = 0 AND time <= $__timeTo()::timestamptz
      AND time > $__timeTo()::timestamptz - INTERVAL '{{recent_s}} seconds'
    ORDER BY waveform.time DESC LIMIT 1
) w ON true
LEFT JOIN LATERAL (
    SELECT time + duration_s * INTERVAL '1 second' AS end_time FROM signal_quality
    WHERE patient_id = bed.patient_id AND time <= $__timeTo()::timestamptz
      AND time > $__timeTo()::timestamptz - INTERVAL '{{recent_s}} seconds'
    ORDER BY time DESC LIMIT 1
) q ON true
LEFT JOIN LATERAL (
    SELECT time FROM beats
    WHERE patient_id = bed.patient_id AND time <= $__timeTo()::timestamptz
      AND time > $__timeTo()::timestamptz - INTERVAL '{{recent_s}} seconds'
    ORDER BY time DESC LIMIT 1
) lb ON true
LEFT JOIN LATERAL (
    -- the analysed windows since the newest beat: all noisy/saturated/missing (not flat) = no verdict
    SELECT coalesce(bool_and(NOT valid AND flags !~ 'flat'), false) AS unusable FROM signal_quality
    WHERE patient_id = bed.patient_id AND time <= $__timeTo()::timestamptz
      AND time > greatest(lb.time, q.end_time - INTERVAL '{{recent_s}} seconds')
) quiet ON true
LEFT JOIN LATERAL (
    SELECT avg(hr_bpm) AS bpm FROM (
        SELECT hr_bpm FROM beats
        WHERE patient_id = bed.patient_id AND hr_bpm IS NOT NULL
          AND time <= $__timeTo()::timestamptz
          AND time > $__timeTo()::timestamptz - INTERVAL '{{hr_now_max_age_s}} seconds'
        ORDER BY time DESC LIMIT {{hr_now_beats}}
    ) newest
) hr ON true
