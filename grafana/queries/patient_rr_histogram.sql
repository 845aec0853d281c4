-- Patient view: distribution of RR intervals over the range, in 50 ms bins (RR as measured,
-- including beats in noisy windows, where hr_bpm is withheld).
SELECT (floor(rr_ms / 50) * 50)::int::text AS "RR (ms)", count(*)::float8 AS "beats"
FROM beats
WHERE patient_id = '$patient' AND $__timeFilter(time) AND rr_ms BETWEEN 200 AND 3000
GROUP BY floor(rr_ms / 50)
ORDER BY floor(rr_ms / 50)
