-- Beds and admissions: which patient lies in which bed, from when until when. The ward wall shows
-- the beds with an admission open at the end of its time range, so a discharged patient leaves
-- the wall and a newly admitted one appears without editing any dashboard.
-- No foreign key to patients: a bed is admitted before (or while) its monitor's stream registers
-- the patient from the stream's metadata message, which the raw writer stores.
CREATE TABLE admissions (
    admission_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    bed           text NOT NULL CHECK (bed ~ '^[A-Za-z0-9][A-Za-z0-9 _.:/-]{0,31}$'),
    patient_id    text NOT NULL CHECK (patient_id ~ '^[A-Za-z0-9_.:-]{1,64}$'),
    admitted_at   timestamptz NOT NULL DEFAULT now(),
    discharged_at timestamptz CHECK (discharged_at >= admitted_at)
);

-- at most one open admission per bed and per patient (the CLI refuses a second one by name)
CREATE UNIQUE INDEX admissions_open_bed ON admissions (bed) WHERE discharged_at IS NULL;
CREATE UNIQUE INDEX admissions_open_patient ON admissions (patient_id) WHERE discharged_at IS NULL;
-- the wall at a past instant and the patient view's bed label: admissions by time
CREATE INDEX admissions_admitted_at ON admissions (admitted_at);
CREATE INDEX admissions_patient ON admissions (patient_id, admitted_at);
