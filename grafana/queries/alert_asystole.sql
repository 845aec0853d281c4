-- Alert asystole: per patient, the longest pause between beats (s) within the evaluation range
-- whose whole span is analysed signal that is valid: a pause in missing or unusable signal is
-- signal loss or a technical alarm, not asystole. The pause still open after the newest beat
-- counts up to the end of the newest analysed window.
WITH pauses AS (
    SELECT p.patient_id, b.time - b.rr_ms * INTERVAL '1 millisecond' AS gap_from, b.time AS gap_to
    FROM patients p
    CROSS JOIN LATERAL (
        SELECT time, rr_ms FROM beats
        WHERE patient_id = p.patient_id AND $__timeFilter(time) AND rr_ms >= 1000 * {{asystole_s}}
    ) b
    UNION ALL
    SELECT p.patient_id, lb.time, lq.end_time
    FROM patients p
    CROSS JOIN LATERAL (
        SELECT time FROM beats WHERE patient_id = p.patient_id AND time <= $__timeTo()::timestamptz
        ORDER BY time DESC LIMIT 1
    ) lb
    CROSS JOIN LATERAL (
        SELECT time + duration_s * INTERVAL '1 second' AS end_time FROM signal_quality
        WHERE patient_id = p.patient_id AND time <= $__timeTo()::timestamptz
        ORDER BY time DESC LIMIT 1
    ) lq
    WHERE lq.end_time >= $__timeFrom()::timestamptz
), judged AS (
    SELECT ps.patient_id, extract(epoch FROM ps.gap_to - ps.gap_from) AS pause_s,
           (SELECT coalesce(bool_and(q.valid), false) AND coalesce(sum(q.duration_s), 0)
                       >= extract(epoch FROM ps.gap_to - ps.gap_from) - 2 * max(q.duration_s)
            FROM signal_quality q
            WHERE q.patient_id = ps.patient_id AND q.time < ps.gap_to
              AND q.time > ps.gap_from - INTERVAL '10 seconds'
              AND q.time + q.duration_s * INTERVAL '1 second' > ps.gap_from) AS valid_signal
    FROM pauses ps
)
SELECT p.patient_id, coalesce(max(j.pause_s) FILTER (WHERE j.valid_signal), 0)::float8 AS pause_s
FROM patients p
JOIN judged j ON j.patient_id = p.patient_id
GROUP BY p.patient_id
