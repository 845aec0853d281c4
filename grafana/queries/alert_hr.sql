-- Alerts tachycardia and bradycardia: per patient, the mean trusted heart rate over the
-- {{hr_window_s}} s before its newest beat in the evaluation range (the heart-rate job writes
-- about once a minute, so the window is anchored on the data, not on now()). One row per
-- patient: Grafana makes the string column a label and the number the value to compare.
-- Laterals keep every step an index range scan per patient (a join would scan all beats).
SELECT p.patient_id, avg(b.hr_bpm)::float8 AS hr_bpm
FROM patients p
CROSS JOIN LATERAL (
    SELECT max(time) AS newest FROM beats
    WHERE patient_id = p.patient_id AND hr_bpm IS NOT NULL AND $__timeFilter(time)
) n
CROSS JOIN LATERAL (
    SELECT hr_bpm FROM beats
    WHERE patient_id = p.patient_id AND hr_bpm IS NOT NULL
      AND time > n.newest - INTERVAL '{{hr_window_s}} seconds' AND time <= n.newest
) b
GROUP BY p.patient_id
HAVING count(*) >= {{hr_min_beats}}
