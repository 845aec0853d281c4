-- Re-run by every migrate: set the role passwords handed over in session settings.
-- format(%L) quotes on the server, so no password is ever spliced into SQL text by Python.
DO $$
BEGIN
    IF coalesce(current_setting('ecg.writer_password', true), '') <> '' THEN
        EXECUTE format('ALTER ROLE ecg_writer PASSWORD %L',
                       current_setting('ecg.writer_password'));
    END IF;
    IF coalesce(current_setting('ecg.reader_password', true), '') <> '' THEN
        EXECUTE format('ALTER ROLE ecg_reader PASSWORD %L',
                       current_setting('ecg.reader_password'));
    END IF;
END
$$;
