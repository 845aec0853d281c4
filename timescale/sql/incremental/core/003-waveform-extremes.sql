-- Per-chunk extremes in ADC units, written by the raw writer with the samples, so that
-- long-range waveform panels (Grafana buckets of 1 s or more) read two numbers per ~1 s chunk
-- instead of unnesting every sample. Rows stored before this migration have NULLs; readers fall
-- back to the samples for them. One column per statement: TimescaleDB adds columns to a
-- compressed hypertable one at a time.
ALTER TABLE waveform ADD COLUMN lo smallint;
ALTER TABLE waveform ADD COLUMN hi smallint;
