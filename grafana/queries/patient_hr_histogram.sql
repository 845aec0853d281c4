-- Patient view: distribution of beat-to-beat heart rate over the range, in 5 bpm bins.
SELECT (floor(hr_bpm / 5) * 5)::int::text AS "HR (bpm)", count(*)::float8 AS "beats"
FROM beats
WHERE patient_id = '$patient' AND $__timeFilter(time) AND hr_bpm BETWEEN 20 AND 300
GROUP BY floor(hr_bpm / 5)
ORDER BY floor(hr_bpm / 5)
