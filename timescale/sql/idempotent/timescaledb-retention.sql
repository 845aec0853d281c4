-- Re-run by every migrate: raw waveform retention follows the configured number of days,
-- handed over in the session setting ecg.retention_days.
DO $$
BEGIN
    PERFORM remove_retention_policy('waveform', if_exists => true);
    PERFORM add_retention_policy(
        'waveform', make_interval(days => current_setting('ecg.retention_days')::int));
END
$$;
