-- Re-run by every migrate (idempotent): what the ward wall and the pipeline dashboard read.

-- The pipeline dashboard reads the ledger and the dead letters by processing time; without these
-- every refresh scans their whole history (a 2 s raw writer commits 1.3 M batches a month).
CREATE INDEX IF NOT EXISTS writer_batches_committed_at ON writer_batches (committed_at);
CREATE INDEX IF NOT EXISTS writer_batches_query_committed_at
    ON writer_batches (query_name, committed_at);
CREATE INDEX IF NOT EXISTS dead_letters_recorded_at ON dead_letters (recorded_at);

-- The beds admitted at `p_at`, in natural order of their labels ("Bed 2" before "Bed 10"),
-- numbered 1..n (`slot`), and only those on page `p_page` of `p_per_page` beds: the wall's
-- tiles are fixed slots, slot k showing the k-th bed of the page.
CREATE OR REPLACE FUNCTION wall_beds(p_at timestamptz, p_page integer, p_per_page integer)
RETURNS TABLE (slot integer, bed text, patient_id text, admitted_at timestamptz)
LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
    SELECT (n - (greatest(p_page, 1) - 1) * p_per_page)::integer, bed, patient_id, admitted_at
    FROM (
        SELECT row_number() OVER (ORDER BY substring(a.bed FROM '^[^0-9]*'),
                                           coalesce(substring(a.bed FROM '[0-9]+')::numeric, -1),
                                           a.bed) AS n,
               a.bed, a.patient_id, a.admitted_at
        FROM admissions a
        WHERE a.admitted_at <= p_at AND (a.discharged_at IS NULL OR a.discharged_at > p_at)
    ) ranked
    WHERE n > (greatest(p_page, 1) - 1) * p_per_page AND n <= greatest(p_page, 1) * p_per_page
$$;

-- The CLI admits and discharges as ecg_writer; Grafana reads as ecg_reader.
GRANT SELECT, INSERT, UPDATE ON admissions TO ecg_writer;
GRANT SELECT ON admissions TO ecg_reader;
GRANT EXECUTE ON FUNCTION wall_beds(timestamptz, integer, integer) TO ecg_reader, ecg_writer;
