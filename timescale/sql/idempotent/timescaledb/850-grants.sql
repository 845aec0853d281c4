-- Re-run by every migrate (idempotent), Timescale layer: the rollups are views here, which the
-- writer has no reason to change; the reader sees the continuous aggregates too.
REVOKE INSERT, DELETE ON hr_1m, hr_1h FROM ecg_writer;
GRANT SELECT ON hr_1m, hr_1h, hr_beats_1m, quality_1m, hr_beats_1h, quality_1h TO ecg_reader;
