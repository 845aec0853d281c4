-- Alarms: events decided in the stream (alarm job) or by the watchdog, and per-patient limits.
-- Run once, pinned by checksum. The view alarms_active and the grants are idempotent files.

-- Heart-rate limits (bpm) per patient; the row '*' holds the ward's defaults for every patient
-- without a row of its own. No foreign key to patients: limits may be set before the stream
-- registers the patient.
CREATE TABLE alarm_limits (
    patient_id   text PRIMARY KEY CHECK (patient_id = '*' OR patient_id ~ '^[A-Za-z0-9_.:-]{1,64}$'),
    brady_high   real NOT NULL,
    brady_medium real NOT NULL,
    tachy_medium real NOT NULL,
    tachy_high   real NOT NULL,
    updated_by   text NOT NULL DEFAULT current_user,
    updated_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    CHECK (0 < brady_high AND brady_high <= brady_medium AND brady_medium < tachy_medium
           AND tachy_medium <= tachy_high)
);
INSERT INTO alarm_limits (patient_id, brady_high, brady_medium, tachy_medium, tachy_high)
VALUES ('*', 40, 50, 120, 150);

-- One row per alarm event. A condition raises it and ends it (`ended`, signal clock); a high
-- priority event stays latched after that until acknowledged (view alarms_active).
CREATE TABLE alarm_events (
    alarm_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    patient_id text,                     -- NULL only for a pipeline alarm (job_stalled)
    job        text,                     -- the streaming query a job_stalled names
    kind       text NOT NULL CHECK (kind ~ '^[a-z_]{1,32}$'),
    priority   text NOT NULL CHECK (priority IN ('high', 'medium', 'low')),
    onset      timestamptz NOT NULL,     -- signal clock (job_stalled: the job's last commit)
    ended      timestamptz,              -- signal clock; NULL while the condition lasts
    raised_at  timestamptz NOT NULL DEFAULT clock_timestamp(),  -- wall clock
    ended_at   timestamptz,              -- wall clock
    value      real,                     -- what triggered it: bpm, pause s, silent s, ...
    message    text NOT NULL DEFAULT '',
    source     text NOT NULL,            -- 'alarm_job' (the stream) or 'watchdog'
    acked_by   text,
    acked_at   timestamptz,
    CHECK (patient_id IS NOT NULL OR job IS NOT NULL),
    CHECK ((acked_by IS NULL) = (acked_at IS NULL))
);
-- the event's natural key: a raise replayed after a crash finds its row (exactly once)
CREATE UNIQUE INDEX alarm_events_key
    ON alarm_events (coalesce(patient_id, ''), coalesce(job, ''), kind, priority, onset);
CREATE INDEX alarm_events_latched ON alarm_events (patient_id)
    WHERE ended IS NULL OR (priority = 'high' AND acked_at IS NULL);
CREATE INDEX alarm_events_patient_onset ON alarm_events (patient_id, onset DESC);

-- the watchdog reads each query's newest commit
CREATE INDEX writer_batches_query_committed ON writer_batches (query_name, committed_at DESC);
