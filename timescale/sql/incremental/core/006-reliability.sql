-- Nothing lost, nothing doubled: what the ledger and the writers need to prove it.

-- The Kafka offsets each batch consumed, {"<partition>": [first, last]}: a batch id replayed
-- with other offsets is an error, not a skip (the checkpoint and the ledger disagree).
ALTER TABLE writer_batches ADD COLUMN offsets jsonb;
-- samples whose key (patient, lead, time) was stored before with other values
ALTER TABLE writer_batches ADD COLUMN conflicts integer NOT NULL DEFAULT 0;

-- A stored chunk and a later message for the same key with other values: the first one stays
-- (stored samples are never rewritten); the conflict is kept here, by message, once.
CREATE TABLE sample_conflicts (
    topic           text NOT NULL,
    kafka_partition integer NOT NULL,
    kafka_offset    bigint NOT NULL,
    signal_index    smallint NOT NULL,
    patient_id      text NOT NULL,
    time            timestamptz NOT NULL,  -- the chunk's time (signal clock)
    query_id        text NOT NULL,
    batch_id        bigint NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (topic, kafka_partition, kafka_offset, signal_index)
);
CREATE INDEX sample_conflicts_recorded_at ON sample_conflicts (recorded_at);

-- Offsets the source found gone (retention, a re-created topic, a broker restarted without
-- its storage) when a job was told to go on (failOnDataLoss=false): the messages in
-- [from_offset, to_offset) were never read. Recorded with the batch that noticed, once.
CREATE TABLE data_loss_gaps (
    query_id        text NOT NULL,
    batch_id        bigint NOT NULL,
    topic           text NOT NULL,
    kafka_partition integer NOT NULL,
    from_offset     bigint NOT NULL,
    to_offset       bigint NOT NULL,
    reason          text NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (query_id, batch_id, topic, kafka_partition)
);
CREATE INDEX data_loss_gaps_recorded_at ON data_loss_gaps (recorded_at);
