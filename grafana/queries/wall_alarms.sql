-- Ward wall banner: every active alarm (alarms_active, the alarm engine's view, issue 11) of the
-- beds admitted at the end of the range, on any page, newest first: a bed on another page that
-- alarms is seen on every screen. Priority marked "!!!" high, "!!" medium, "!" low.
SELECT a.bed AS "Bed",
       CASE al.priority WHEN 'high' THEN '!!! ' WHEN 'medium' THEN '!! ' ELSE '! ' END
           || initcap(replace(al.kind, '_', ' ')) AS "Alarm",
       al.message AS "Detail",
       al.raised_at AS "Since",
       CASE WHEN al.acked THEN 'ack' ELSE '' END AS "Ack"
FROM alarms_active al
JOIN admissions a ON a.patient_id = al.patient_id
    AND a.admitted_at <= $__timeTo()::timestamptz
    AND (a.discharged_at IS NULL OR a.discharged_at > $__timeTo()::timestamptz)
ORDER BY al.raised_at DESC
LIMIT {{points}}
