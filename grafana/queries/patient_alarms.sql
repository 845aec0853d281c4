-- Patient view annotations: $patient's alarm events (alarm_events, issue 11) overlapping the
-- range, as regions from onset to end on the signal clock (an open alarm up to the range's end).
SELECT onset AS "time",
       coalesce(ended, $__timeTo()::timestamptz) AS "timeend",
       upper(priority) || ' ' || replace(kind, '_', ' ') || ': ' || message
           || CASE WHEN acked_by IS NOT NULL THEN ' (acknowledged by ' || acked_by || ')' ELSE '' END
           AS "text",
       priority || ',' || kind AS "tags"
FROM alarm_events
WHERE patient_id = '$patient'
  AND onset <= $__timeTo()::timestamptz
  AND (ended IS NULL OR ended >= $__timeFrom()::timestamptz)
ORDER BY onset
