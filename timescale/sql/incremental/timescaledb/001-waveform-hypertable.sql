-- TimescaleDB layer: applied only where the timescaledb extension is available.
CREATE EXTENSION IF NOT EXISTS timescaledb;

-- 1-hour chunks: 100 patients x 2 leads at 1 row/s is 720 k rows (~0.6 GB raw) an hour, so the
-- open chunk and its index stay in memory, and closed chunks compress soon after.
SELECT create_hypertable('waveform', by_range('time', INTERVAL '1 hour'), migrate_data => true);

-- Segment by patient and lead so a patient's range decompresses alone; order by time.
ALTER TABLE waveform SET (
    timescaledb.compress,
    timescaledb.compress_segmentby = 'patient_id, signal_index',
    timescaledb.compress_orderby = 'time'
);
