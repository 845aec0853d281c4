-- Heart rate: beats and signal quality from the heart-rate job, and per-minute/hour rollups.

-- One row per detected beat (R peak), exactly once (the job uses the writer ledger).
CREATE TABLE beats (
    patient_id   text NOT NULL,
    time         timestamptz NOT NULL,   -- R peak, from the signal clock
    sample_index bigint NOT NULL,        -- stream index of the R peak (samples)
    rr_ms        real,                   -- to the previous beat; NULL for a patient's first
    hr_bpm       real,                   -- 60000 / rr_ms; NULL where rr_ms is
    leads        text NOT NULL,          -- leads the detector used, comma separated
    quality      real NOT NULL,          -- signal quality index of the beat's window, 0..1
    PRIMARY KEY (patient_id, time)
);

-- One row per patient and analysis window: is the signal good enough to report heart rate?
CREATE TABLE signal_quality (
    patient_id text NOT NULL,
    time       timestamptz NOT NULL,     -- window start, from the signal clock
    duration_s real NOT NULL CHECK (duration_s > 0),
    valid      boolean NOT NULL,
    sqi        real NOT NULL,            -- 0 (unusable) .. 1 (clean)
    flags      text NOT NULL DEFAULT '', -- comma separated: flat, saturated, leads_off, noisy, gap
    PRIMARY KEY (patient_id, time)
);

-- PostgreSQL mode: rollups are tables the heart-rate writer refreshes for the buckets it
-- touched, in the same transaction (refresh_hr_rollups). The Timescale layer replaces them with
-- continuous aggregates of the same names and columns.
CREATE TABLE hr_1m (
    patient_id text NOT NULL,
    bucket     timestamptz NOT NULL,
    beats      bigint NOT NULL,
    hr_sum     double precision,         -- for exact means of coarser buckets
    hr_n       bigint NOT NULL,
    hr_mean    double precision,
    hr_min     real,
    hr_max     real,
    valid_s    double precision NOT NULL,
    PRIMARY KEY (patient_id, bucket)
);
CREATE TABLE hr_1h (LIKE hr_1m INCLUDING ALL);
