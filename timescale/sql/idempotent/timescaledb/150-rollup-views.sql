-- Re-run by every migrate (idempotent), Timescale layer: hr_1m and hr_1h as views over the
-- continuous aggregates, with the same names and columns as PostgreSQL mode's tables.

-- A UNION ALL grouped by (patient_id, bucket), not a FULL JOIN ... USING: PostgreSQL pushes a
-- filter on the merged key of a full join into neither side, so a panel's time range read the
-- patient's whole history of both aggregates; through GROUP BY and UNION ALL both the patient
-- and the time range reach each continuous aggregate's index.
CREATE OR REPLACE VIEW hr_1m AS
SELECT patient_id, bucket, sum(beats)::bigint AS beats, sum(hr_sum) AS hr_sum,
       sum(hr_n)::bigint AS hr_n, sum(hr_sum) / nullif(sum(hr_n), 0)::double precision AS hr_mean,
       min(hr_min) AS hr_min, max(hr_max) AS hr_max, coalesce(sum(valid_s), 0) AS valid_s
FROM (
    SELECT patient_id, bucket, beats, hr_sum, hr_n, hr_min, hr_max,
           NULL::double precision AS valid_s
    FROM hr_beats_1m
    UNION ALL
    SELECT patient_id, bucket, 0::bigint, NULL::double precision, 0::bigint, NULL::real, NULL::real,
           valid_s
    FROM quality_1m
) u
GROUP BY patient_id, bucket;

CREATE OR REPLACE VIEW hr_1h AS
SELECT patient_id, bucket, sum(beats)::bigint AS beats, sum(hr_sum) AS hr_sum,
       sum(hr_n)::bigint AS hr_n, sum(hr_sum) / nullif(sum(hr_n), 0)::double precision AS hr_mean,
       min(hr_min) AS hr_min, max(hr_max) AS hr_max, coalesce(sum(valid_s), 0) AS valid_s
FROM (
    SELECT patient_id, bucket, beats, hr_sum, hr_n, hr_min, hr_max,
           NULL::double precision AS valid_s
    FROM hr_beats_1h
    UNION ALL
    SELECT patient_id, bucket, 0::bigint, NULL::double precision, 0::bigint, NULL::real, NULL::real,
           valid_s
    FROM quality_1h
) u
GROUP BY patient_id, bucket;

-- The writer calls this in both modes; here real-time aggregation keeps the rollups fresh.
CREATE OR REPLACE FUNCTION refresh_hr_rollups(p_patients text[], p_from timestamptz,
                                              p_to timestamptz)
RETURNS void LANGUAGE sql SET search_path = public, pg_temp AS $$ SELECT $$;
