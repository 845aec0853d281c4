-- Patient view: the patient variable: every registered patient, shown with its latest bed.
SELECT p.patient_id AS __value, coalesce(a.bed || ' · ', '') || p.patient_id AS __text
FROM patients p
LEFT JOIN LATERAL (
    SELECT bed FROM admissions WHERE patient_id = p.patient_id ORDER BY admitted_at DESC LIMIT 1
) a ON true
ORDER BY a.bed IS NULL, p.patient_id
