-- Alert noisy signal (technical): per patient, the share of its newest {{quality_window_s}} s of
-- analysed windows within the evaluation range that are unusable or flagged (noisy, flat,
-- saturated, leads_off, gap).
-- Laterals keep every step an index range scan per patient (a join would scan all windows).
SELECT p.patient_id, avg((NOT q.valid OR q.flags <> '')::int)::float8 AS bad_share
FROM patients p
CROSS JOIN LATERAL (
    SELECT max(time) AS newest FROM signal_quality
    WHERE patient_id = p.patient_id AND $__timeFilter(time)
) n
CROSS JOIN LATERAL (
    SELECT valid, flags FROM signal_quality
    WHERE patient_id = p.patient_id
      AND time > n.newest - INTERVAL '{{quality_window_s}} seconds' AND time <= n.newest
) q
GROUP BY p.patient_id
