-- A stream whose registration was refused (its patient id is registered with other signals:
-- timescale.patients.register): the patient and the stream's start, so its samples are dead
-- letters too instead of being stored under the registered stream's calibration. Ingest refuses
-- two streams under one id before sending; this is the consumers' guard against any other
-- producer. Run once, pinned by checksum; grants are in idempotent/core/850.
CREATE TABLE refused_streams (
    patient_id  text NOT NULL,
    start_time  timestamptz NOT NULL,  -- the refused registration's stream sample 0
    reason      text NOT NULL,
    refused_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (patient_id, start_time)
);
