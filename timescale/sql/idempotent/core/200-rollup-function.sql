-- Re-run by every migrate (idempotent). PostgreSQL mode only: where hr_1m is a table (the
-- Timescale layer replaces it with a view over continuous aggregates and defines a no-op
-- refresh_hr_rollups in idempotent/timescaledb/150-rollup-views.sql).
--
-- refresh_hr_rollups recomputes the rollup buckets of `p_patients` that hold times in
-- [p_from, p_to]; the heart-rate writer calls it in the transaction of its batch.
DO $do$
BEGIN
    IF (SELECT c.relkind FROM pg_class c
        WHERE c.oid = to_regclass('public.hr_1m')) IS DISTINCT FROM 'r' THEN
        RETURN;
    END IF;
    EXECUTE $fn$
    CREATE OR REPLACE FUNCTION refresh_hr_rollups(p_patients text[], p_from timestamptz,
                                                  p_to timestamptz)
    RETURNS void LANGUAGE sql SET search_path = public, pg_temp AS $body$
        DELETE FROM hr_1m WHERE patient_id = ANY(p_patients)
            AND bucket >= date_trunc('minute', p_from)
            AND bucket < date_trunc('minute', p_to) + INTERVAL '1 minute';
        INSERT INTO hr_1m
        SELECT patient_id, bucket, coalesce(b.beats, 0), b.hr_sum, coalesce(b.hr_n, 0),
               b.hr_sum / nullif(b.hr_n, 0), b.hr_min, b.hr_max, coalesce(q.valid_s, 0)
        FROM (SELECT patient_id, date_trunc('minute', time) AS bucket, count(*) AS beats,
                     sum(hr_bpm) AS hr_sum, count(hr_bpm) AS hr_n, min(hr_bpm) AS hr_min,
                     max(hr_bpm) AS hr_max
              FROM beats WHERE patient_id = ANY(p_patients)
                  AND time >= date_trunc('minute', p_from)
                  AND time < date_trunc('minute', p_to) + INTERVAL '1 minute'
              GROUP BY 1, 2) b
        FULL JOIN
             (SELECT patient_id, date_trunc('minute', time) AS bucket,
                     sum(duration_s) FILTER (WHERE valid) AS valid_s
              FROM signal_quality WHERE patient_id = ANY(p_patients)
                  AND time >= date_trunc('minute', p_from)
                  AND time < date_trunc('minute', p_to) + INTERVAL '1 minute'
              GROUP BY 1, 2) q USING (patient_id, bucket);
        DELETE FROM hr_1h WHERE patient_id = ANY(p_patients)
            AND bucket >= date_trunc('hour', p_from)
            AND bucket < date_trunc('hour', p_to) + INTERVAL '1 hour';
        INSERT INTO hr_1h
        SELECT patient_id, date_trunc('hour', bucket), sum(beats), sum(hr_sum), sum(hr_n),
               sum(hr_sum) / nullif(sum(hr_n), 0), min(hr_min), max(hr_max), sum(valid_s)
        FROM hr_1m WHERE patient_id = ANY(p_patients)
            AND bucket >= date_trunc('hour', p_from)
            AND bucket < date_trunc('hour', p_to) + INTERVAL '1 hour'
        GROUP BY 1, 2;
    $body$
    $fn$;
END
$do$;
