-- Re-run by every migrate (idempotent), Timescale layer: compression, retention and refresh
-- policies. Retention follows the configured number of days, handed over in the session
-- setting ecg.retention_days.

SELECT add_compression_policy('waveform', INTERVAL '2 hours', if_not_exists => true);

DO $$
BEGIN
    PERFORM remove_retention_policy('waveform', if_exists => true);
    PERFORM add_retention_policy(
        'waveform', make_interval(days => current_setting('ecg.retention_days')::int));
END
$$;

SELECT add_continuous_aggregate_policy('hr_beats_1m', start_offset => INTERVAL '2 hours',
    end_offset => INTERVAL '1 minute', schedule_interval => INTERVAL '1 minute',
    if_not_exists => true);
SELECT add_continuous_aggregate_policy('quality_1m', start_offset => INTERVAL '2 hours',
    end_offset => INTERVAL '1 minute', schedule_interval => INTERVAL '1 minute',
    if_not_exists => true);
SELECT add_continuous_aggregate_policy('hr_beats_1h', start_offset => INTERVAL '3 days',
    end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '10 minutes',
    if_not_exists => true);
SELECT add_continuous_aggregate_policy('quality_1h', start_offset => INTERVAL '3 days',
    end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '10 minutes',
    if_not_exists => true);
