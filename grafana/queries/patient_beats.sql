-- Patient view annotations: each detected beat of $patient as a marker (text: HR and RR), for
-- ranges up to 10 min (beyond, a marker per beat is thousands of markers: none are returned).
SELECT time AS "time",
       coalesce(round(hr_bpm)::text || ' bpm, RR ' || round(rr_ms)::text || ' ms', 'beat') AS "text",
       'beat' AS "tags"
FROM beats
WHERE patient_id = '$patient' AND $__timeFilter(time)
  AND $__unixEpochTo() - $__unixEpochFrom() <= 600
ORDER BY time
