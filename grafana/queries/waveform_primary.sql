-- Ward wall tile: the primary lead (lowest signal index) of $patient in mV, reduced to min/max per
-- bucket. The bucket is $__interval, widened so the range never holds more than {{points}}
-- buckets (Grafana's rounded $__interval alone can overshoot maxDataPoints by up to 1.5x).
-- Under 5 s a bucket is exact per sample; from 5 s on, each ~1 s chunk is reduced first and
-- counted in the bucket where it starts (an error under 1/5 of a bucket, far below a pixel).
-- The branch conditions hold only constants, so PostgreSQL runs one branch (one-time filter).
WITH lead AS (
    SELECT DISTINCT ON (patient_id) patient_id, signal_index, lead, fs, gain, baseline
    FROM signals WHERE patient_id IN ($patient) ORDER BY patient_id, signal_index
), fine AS (
    SELECT l.patient_id, l.lead, l.gain, l.baseline,
           w.time + (o.i - 1) * INTERVAL '1 second' / l.fs AS t, o.v
    FROM lead l
    JOIN waveform w ON w.patient_id = l.patient_id AND w.signal_index = l.signal_index
    CROSS JOIN LATERAL unnest(w.samples) WITH ORDINALITY AS o (v, i)
    WHERE greatest($__interval_ms, ceil(($__unixEpochTo() - $__unixEpochFrom()) * 1000.0 / ({{points}} - 1))) < 5000
      AND w.time > $__timeFrom()::timestamptz - INTERVAL '2 seconds'
      AND w.time <= $__timeTo()::timestamptz
), extremes AS (
    SELECT patient_id, lead, gain, baseline, t, v AS lo, v AS hi FROM fine WHERE $__timeFilter(t)
    UNION ALL
    SELECT l.patient_id, l.lead, l.gain, l.baseline, w.time, m.lo, m.hi
    FROM lead l
    JOIN waveform w ON w.patient_id = l.patient_id AND w.signal_index = l.signal_index
    CROSS JOIN LATERAL (SELECT min(v) AS lo, max(v) AS hi FROM unnest(w.samples) AS v) m
    WHERE greatest($__interval_ms, ceil(($__unixEpochTo() - $__unixEpochFrom()) * 1000.0 / ({{points}} - 1))) >= 5000
      AND $__timeFilter(w.time)
)
SELECT date_bin(greatest($__interval_ms, ceil(($__unixEpochTo() - $__unixEpochFrom()) * 1000.0 / ({{points}} - 1)))
                * INTERVAL '1 millisecond', t, TIMESTAMPTZ 'epoch') AS "time",
       patient_id || ' ' || lead AS metric,
       least(min((lo - baseline) / gain), min((hi - baseline) / gain)) AS "min mV",
       greatest(max((lo - baseline) / gain), max((hi - baseline) / gain)) AS "max mV"
FROM extremes
GROUP BY 1, 2
ORDER BY 1, 2
