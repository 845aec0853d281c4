-- Alert noisy signal (technical): per patient, the share of its newest {{quality_window_s}} s of
-- analysed windows within the evaluation range that are unusable or flagged (noisy, flat,
-- saturated, leads_off, gap).
-- Aggregating inside each lateral keeps it a per-patient index range scan (PostgreSQL would
-- flatten a plain lateral into a join over every patient's windows in the range).
SELECT p.patient_id, q.bad_share
FROM patients p
CROSS JOIN LATERAL (
    SELECT max(time) AS newest FROM signal_quality
    WHERE patient_id = p.patient_id AND $__timeFilter(time)
) n
CROSS JOIN LATERAL (
    SELECT avg((NOT valid OR flags <> '')::int)::float8 AS bad_share FROM signal_quality
    WHERE patient_id = p.patient_id
      AND time > n.newest - INTERVAL '{{quality_window_s}} seconds' AND time <= n.newest
) q
WHERE q.bad_share IS NOT NULL
