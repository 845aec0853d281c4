-- Alerts tachycardia and bradycardia: per patient, the mean trusted heart rate over the
-- {{hr_window_s}} s before its newest beat in the evaluation range (the heart-rate job writes
-- about once a minute, so the window is anchored on the data, not on now()). One row per
-- patient: Grafana makes the string column a label and the number the value to compare.
-- Aggregating inside each lateral keeps it a per-patient index range scan (PostgreSQL would
-- flatten a plain lateral into a join over every patient's beats in the window).
SELECT p.patient_id, b.hr_bpm
FROM patients p
CROSS JOIN LATERAL (
    SELECT max(time) AS newest FROM beats
    WHERE patient_id = p.patient_id AND hr_bpm IS NOT NULL AND $__timeFilter(time)
) n
CROSS JOIN LATERAL (
    SELECT avg(hr_bpm)::float8 AS hr_bpm, count(*) AS beats FROM beats
    WHERE patient_id = p.patient_id AND hr_bpm IS NOT NULL
      AND time > n.newest - INTERVAL '{{hr_window_s}} seconds' AND time <= n.newest
) b
WHERE b.beats >= {{hr_min_beats}}
