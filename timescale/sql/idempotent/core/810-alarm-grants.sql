-- Re-run by every migrate (idempotent): alarms. ecg_writer raises and ends events (the alarm job,
-- the watchdog), acknowledges them and sets limits (the CLI); ecg_reader reads (Grafana, wall).
GRANT SELECT, INSERT ON alarm_events TO ecg_writer;
GRANT SELECT ON alarms_active TO ecg_writer;
GRANT UPDATE (ended, ended_at, acked_by, acked_at) ON alarm_events TO ecg_writer;
GRANT SELECT, INSERT, UPDATE ON alarm_limits TO ecg_writer;
GRANT SELECT ON alarm_events, alarms_active, alarm_limits TO ecg_reader;
