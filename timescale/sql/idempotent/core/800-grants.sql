-- Re-run by every migrate (idempotent): least privilege. ecg_writer inserts (the jobs);
-- ecg_reader selects (Grafana, exports); only the owner changes the schema.

-- no one but the owner creates objects in public (PostgreSQL < 15 lets every role do it)
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO ecg_writer, ecg_reader;

GRANT SELECT, INSERT, UPDATE ON patients, signals TO ecg_writer;
GRANT SELECT, INSERT ON waveform, dead_letters TO ecg_writer;
GRANT SELECT, INSERT, UPDATE ON writer_batches TO ecg_writer;
GRANT SELECT, INSERT ON beats, signal_quality TO ecg_writer;
GRANT SELECT, INSERT, DELETE ON hr_1m, hr_1h TO ecg_writer;  -- PostgreSQL mode's rollup tables

GRANT SELECT ON patients, signals, waveform, writer_batches, dead_letters, waveform_mv,
    beats, signal_quality, hr_1m, hr_1h TO ecg_reader;
