-- Re-run by every migrate (idempotent): views over the core tables.

-- Samples as physical values, one row per sample, for Grafana and ad-hoc SQL.
CREATE OR REPLACE VIEW waveform_mv AS
SELECT w.patient_id,
       s.lead,
       w.time + make_interval(secs => (o.i - 1) / s.fs) AS time,
       (o.v - s.baseline) / s.gain AS mv
FROM waveform w
JOIN signals s USING (patient_id, signal_index)
CROSS JOIN LATERAL unnest(w.samples) WITH ORDINALITY AS o (v, i);
