-- Re-run by every migrate (idempotent): the raw writer stores expert annotations; readers
-- (exports, Grafana) read them.
GRANT SELECT, INSERT ON annotations TO ecg_writer;
GRANT SELECT ON annotations TO ecg_reader;
