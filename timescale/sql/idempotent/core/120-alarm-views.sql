-- Re-run by every migrate (idempotent): the alarms latched now, as the wall and Grafana read them.
-- Latched = the condition still lasts, or a high-priority event not yet acknowledged.
CREATE OR REPLACE VIEW alarms_active AS
SELECT patient_id, kind, priority, onset, raised_at, value, message,
       acked_at IS NOT NULL AS acked,
       alarm_id, job, ended, ended_at, acked_by, acked_at, source
FROM alarm_events
WHERE ended IS NULL OR (priority = 'high' AND acked_at IS NULL);
