-- Alert rules "ECG alarm {{priority}}": the alarm events latched now with priority {{priority}}
-- and not yet acknowledged, one row per patient (or stalled job) and kind. The alarm job and the
-- watchdog decide the alarms (see ecgdash.core.alarms); Grafana only routes them. The string
-- columns become the alert's labels, so every notification names the patient and the kind; the
-- value is how many such events are latched.
SELECT coalesce(patient_id, job) AS patient_id, kind, count(*)::float8 AS latched
FROM alarms_active
WHERE priority = '{{priority}}' AND NOT acked
GROUP BY 1, 2
