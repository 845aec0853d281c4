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

-- Recompute the rollup buckets of `p_patients` that hold times in [p_from, p_to].
CREATE FUNCTION refresh_hr_rollups(p_patients text[], p_from timestamptz, p_to timestamptz)
RETURNS void LANGUAGE sql AS $$
    DELETE FROM hr_1m WHERE patient_id = ANY(p_patients)
        AND bucket >= date_trunc('minute', p_from)
        AND bucket < date_trunc('minute', p_to) + INTERVAL '1 minute';
    INSERT INTO hr_1m
    SELECT patient_id, bucket, coalesce(b.beats, 0), b.hr_sum, coalesce(b.hr_n, 0),
           b.hr_sum / nullif(b.hr_n, 0), b.hr_min, b.hr_max, coalesce(q.valid_s, 0)
    FROM (SELECT patient_id, date_trunc('minute', time) AS bucket, count(*) AS beats,
                 sum(hr_bpm) AS hr_sum, count(hr_bpm) AS hr_n, min(hr_bpm) AS hr_min,
                 max(hr_bpm) AS hr_max
          FROM beats WHERE patient_id = ANY(p_patients)
              AND time >= date_trunc('minute', p_from)
              AND time < date_trunc('minute', p_to) + INTERVAL '1 minute'
          GROUP BY 1, 2) b
    FULL JOIN
         (SELECT patient_id, date_trunc('minute', time) AS bucket,
                 sum(duration_s) FILTER (WHERE valid) AS valid_s
          FROM signal_quality WHERE patient_id = ANY(p_patients)
              AND time >= date_trunc('minute', p_from)
              AND time < date_trunc('minute', p_to) + INTERVAL '1 minute'
          GROUP BY 1, 2) q USING (patient_id, bucket);
    DELETE FROM hr_1h WHERE patient_id = ANY(p_patients)
        AND bucket >= date_trunc('hour', p_from)
        AND bucket < date_trunc('hour', p_to) + INTERVAL '1 hour';
    INSERT INTO hr_1h
    SELECT patient_id, date_trunc('hour', bucket), sum(beats), sum(hr_sum), sum(hr_n),
           sum(hr_sum) / nullif(sum(hr_n), 0), min(hr_min), max(hr_max), sum(valid_s)
    FROM hr_1m WHERE patient_id = ANY(p_patients)
        AND bucket >= date_trunc('hour', p_from)
        AND bucket < date_trunc('hour', p_to) + INTERVAL '1 hour'
    GROUP BY 1, 2;
$$;

GRANT SELECT, INSERT ON beats, signal_quality TO ecg_writer;
GRANT SELECT, INSERT, DELETE ON hr_1m, hr_1h TO ecg_writer;
GRANT SELECT ON beats, signal_quality, hr_1m, hr_1h TO ecg_reader;
