-- TimescaleDB layer for the expert annotations: a hypertable like beats (about one label a beat).
SELECT create_hypertable('annotations', by_range('time', INTERVAL '1 day'), migrate_data => true);
