-- Core schema: runs on any PostgreSQL 14+. Run once, pinned by checksum: never edit after
-- release, add a new file instead. Views, functions, grants and policies live in ../../idempotent.

-- Login roles without passwords; `ecgdash db migrate` sets them from the environment.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ecg_writer') THEN
        CREATE ROLE ecg_writer LOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ecg_reader') THEN
        CREATE ROLE ecg_reader LOGIN;
    END IF;
END
$$;

-- One row per patient stream; the stream replays `source_record` from `source_offset`.
CREATE TABLE patients (
    patient_id       text PRIMARY KEY CHECK (patient_id ~ '^[A-Za-z0-9_.:-]{1,64}$'),
    source_record    text NOT NULL,
    fs               double precision NOT NULL CHECK (fs > 0),   -- Hz
    start_time       timestamptz NOT NULL,                       -- time of stream sample 0
    source_offset    bigint NOT NULL DEFAULT 0 CHECK (source_offset >= 0),  -- samples
    n_source_samples bigint NOT NULL CHECK (n_source_samples > 0),
    registered_at    timestamptz NOT NULL DEFAULT now()
);

-- One row per patient and lead, as a WFDB header describes it: mV = (adc - baseline) / gain.
CREATE TABLE signals (
    patient_id   text NOT NULL REFERENCES patients ON DELETE CASCADE,
    signal_index smallint NOT NULL CHECK (signal_index >= 0),
    lead         text NOT NULL,
    fs           double precision NOT NULL CHECK (fs > 0),       -- Hz
    gain         double precision NOT NULL CHECK (gain <> 0),    -- ADC units per mV
    baseline     integer NOT NULL,                               -- ADC units
    adc_res      smallint NOT NULL,                              -- bits
    adc_zero     integer NOT NULL,                               -- ADC units
    units        text NOT NULL DEFAULT 'mV',
    PRIMARY KEY (patient_id, signal_index)
);

-- Raw samples in chunks of ~1 s per patient and lead, in ADC units (2.3 bytes/sample on disk
-- against 52 for a row per sample). No foreign key to signals: it would slow COPY and is not
-- supported on compressed hypertable chunks; the writer checks registration instead.
-- The key includes the patient and the lead: the 2018 seed keyed on time alone and lost rows.
CREATE TABLE waveform (
    patient_id   text NOT NULL,
    signal_index smallint NOT NULL,
    time         timestamptz NOT NULL,   -- time of samples[1] from the signal clock
    sample_index bigint NOT NULL,        -- stream index of samples[1] (samples)
    samples      smallint[] NOT NULL,    -- ADC units
    ingested_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (patient_id, signal_index, time)
);

-- Exactly-once ledger: a micro-batch's rows and its id commit in one transaction.
-- Keyed by the Spark query id (kept in the checkpoint), not its name: a query started on a new
-- checkpoint numbers its batches from 0 again.
CREATE TABLE writer_batches (
    query_id           text NOT NULL,
    batch_id           bigint NOT NULL,
    query_name         text NOT NULL,
    messages           integer NOT NULL,
    chunks             integer NOT NULL,
    samples            bigint NOT NULL,
    duplicates_skipped integer NOT NULL,
    dead_lettered      integer NOT NULL,
    committed_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (query_id, batch_id)
);

-- Messages the writer could not use, with the reason (also published to the dead-letter topic).
CREATE TABLE dead_letters (
    query_id    text NOT NULL,
    batch_id    bigint NOT NULL,
    topic       text NOT NULL,
    kafka_partition integer NOT NULL,
    kafka_offset bigint NOT NULL,
    patient_key text,
    reason      text NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (topic, kafka_partition, kafka_offset)
);
