-- TimescaleDB layer for heart rate: hypertables, and rollups as continuous aggregates
-- (hierarchical, real-time) under the same names and columns as in PostgreSQL mode.

-- 1-day chunks: 100 patients at ~75 beats/min is ~11 M beats a day.
SELECT create_hypertable('beats', by_range('time', INTERVAL '1 day'), migrate_data => true);
SELECT create_hypertable('signal_quality', by_range('time', INTERVAL '1 day'),
                         migrate_data => true);

-- Continuous aggregates replace the PostgreSQL-mode tables (views of the same names and columns
-- over them, and the writer's no-op refresh function, are in idempotent/timescaledb).
DROP FUNCTION IF EXISTS refresh_hr_rollups(text[], timestamptz, timestamptz);
DROP TABLE hr_1h;
DROP TABLE hr_1m;

CREATE MATERIALIZED VIEW hr_beats_1m
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT patient_id, time_bucket(INTERVAL '1 minute', time) AS bucket, count(*) AS beats,
       sum(hr_bpm)::double precision AS hr_sum, count(hr_bpm) AS hr_n,
       min(hr_bpm) AS hr_min, max(hr_bpm) AS hr_max
FROM beats GROUP BY 1, 2 WITH NO DATA;

CREATE MATERIALIZED VIEW quality_1m
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT patient_id, time_bucket(INTERVAL '1 minute', time) AS bucket,
       coalesce(sum(duration_s) FILTER (WHERE valid), 0)::double precision AS valid_s
FROM signal_quality GROUP BY 1, 2 WITH NO DATA;

-- hierarchical: hours from minutes (sums and counts keep the hourly mean exact)
CREATE MATERIALIZED VIEW hr_beats_1h
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT patient_id, time_bucket(INTERVAL '1 hour', bucket) AS bucket, sum(beats)::bigint AS beats,
       sum(hr_sum) AS hr_sum, sum(hr_n)::bigint AS hr_n, min(hr_min) AS hr_min,
       max(hr_max) AS hr_max
FROM hr_beats_1m GROUP BY 1, 2 WITH NO DATA;

CREATE MATERIALIZED VIEW quality_1h
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT patient_id, time_bucket(INTERVAL '1 hour', bucket) AS bucket, sum(valid_s) AS valid_s
FROM quality_1m GROUP BY 1, 2 WITH NO DATA;
