-- Re-run by every migrate (idempotent): the raw writer records refused streams and reads them
-- back when it checks chunks; an accepted registration of the same stream clears the record.
GRANT SELECT, INSERT, DELETE ON refused_streams TO ecg_writer;
GRANT SELECT ON refused_streams TO ecg_reader;
