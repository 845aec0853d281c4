-- The source's expert annotations (a WFDB record's .atr: beat symbols, rhythm changes), carried
-- by ingest on the patient's key after the samples they label and stored by the raw writer in
-- the samples' transaction: exactly once, on the signal clock, so exported labels line up with
-- the samples. Run once, pinned by checksum; grants are in idempotent/core/840.
CREATE TABLE annotations (
    patient_id   text NOT NULL,
    time         timestamptz NOT NULL,            -- stream start + sample_index / fs (signal clock)
    sample_index bigint NOT NULL,                 -- stream index of the labelled sample (samples)
    source       text NOT NULL,                   -- the annotator: 'atr' (the record's reference)
    symbol       text NOT NULL,                   -- WFDB symbol: N, V, A, ...; '+' rhythm change
    subtype      smallint NOT NULL DEFAULT 0,
    chan         smallint NOT NULL DEFAULT 0,
    num          smallint NOT NULL DEFAULT 0,
    aux_note     text NOT NULL DEFAULT '',        -- e.g. '(AFIB' at a rhythm change
    -- the whole label is its key: a message replayed or resent by the producer is stored once,
    -- and two labels of one sample (a beat and a rhythm change) are both kept
    PRIMARY KEY (patient_id, time, source, chan, num, symbol, aux_note)
);
