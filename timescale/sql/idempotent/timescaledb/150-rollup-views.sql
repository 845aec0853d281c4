-- Re-run by every migrate (idempotent), Timescale layer: hr_1m and hr_1h as views over the
-- continuous aggregates, with the same names and columns as PostgreSQL mode's tables.

CREATE OR REPLACE VIEW hr_1m AS
SELECT patient_id, bucket, coalesce(b.beats, 0) AS beats, b.hr_sum, coalesce(b.hr_n, 0) AS hr_n,
       b.hr_sum / nullif(b.hr_n, 0) AS hr_mean, b.hr_min, b.hr_max,
       coalesce(q.valid_s, 0) AS valid_s
FROM hr_beats_1m b FULL JOIN quality_1m q USING (patient_id, bucket);

CREATE OR REPLACE VIEW hr_1h AS
SELECT patient_id, bucket, coalesce(b.beats, 0) AS beats, b.hr_sum, coalesce(b.hr_n, 0) AS hr_n,
       b.hr_sum / nullif(b.hr_n, 0) AS hr_mean, b.hr_min, b.hr_max,
       coalesce(q.valid_s, 0) AS valid_s
FROM hr_beats_1h b FULL JOIN quality_1h q USING (patient_id, bucket);

-- The writer calls this in both modes; here real-time aggregation keeps the rollups fresh.
CREATE OR REPLACE FUNCTION refresh_hr_rollups(p_patients text[], p_from timestamptz,
                                              p_to timestamptz)
RETURNS void LANGUAGE sql SET search_path = public, pg_temp AS $$ SELECT $$;
