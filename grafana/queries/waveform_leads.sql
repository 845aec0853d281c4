-- Patient view: every lead of $patient in mV, reduced to min/max per
-- bucket. The bucket is $__interval, widened so the range never holds more than {{points}}
-- buckets (Grafana's rounded $__interval alone can overshoot maxDataPoints by up to 1.5x).
-- Under 1 s a bucket is exact per sample; from 1 s on, each ~1 s chunk's stored min/max (lo, hi)
-- is counted in the bucket where it starts (placement off by at most one bucket: about a pixel).
-- The branch conditions hold only constants, so PostgreSQL runs one branch (one-time filter).
-- Buckets are epoch milliseconds in integer arithmetic (cheaper per sample than interval maths).
WITH lead AS (
    SELECT patient_id, signal_index, lead, fs, gain, baseline
    FROM signals WHERE patient_id = '$patient'
), extremes AS (
    -- bucket under 1 s: exact per sample
    SELECT l.patient_id, l.lead, l.gain, l.baseline,
           ((extract(epoch FROM w.time) * 1000)::bigint + ((o.i - 1) * 1000 / l.fs)::bigint)
               / greatest($__interval_ms, ceil(($__unixEpochTo() - $__unixEpochFrom()) * 1000.0 / ({{points}} - 1)))::bigint * greatest($__interval_ms, ceil(($__unixEpochTo() - $__unixEpochFrom()) * 1000.0 / ({{points}} - 1)))::bigint AS bucket,
           min(o.v) AS lo, max(o.v) AS hi
    FROM lead l
    JOIN waveform w ON w.patient_id = l.patient_id AND w.signal_index = l.signal_index
    CROSS JOIN LATERAL unnest(w.samples) WITH ORDINALITY AS o (v, i)
    WHERE greatest($__interval_ms, ceil(($__unixEpochTo() - $__unixEpochFrom()) * 1000.0 / ({{points}} - 1)))::bigint < 1000
      AND w.time > $__timeFrom()::timestamptz - INTERVAL '2 seconds'
      AND w.time <= $__timeTo()::timestamptz
      AND (extract(epoch FROM w.time) * 1000)::bigint + ((o.i - 1) * 1000 / l.fs)::bigint
          BETWEEN $__unixEpochFrom() * 1000::bigint AND $__unixEpochTo() * 1000::bigint
    GROUP BY 1, 2, 3, 4, 5
    UNION ALL
    -- bucket of 1 s or more: each ~1 s chunk reduced first, counted where it starts
    SELECT l.patient_id, l.lead, l.gain, l.baseline,
           (extract(epoch FROM w.time) * 1000)::bigint / greatest($__interval_ms, ceil(($__unixEpochTo() - $__unixEpochFrom()) * 1000.0 / ({{points}} - 1)))::bigint * greatest($__interval_ms, ceil(($__unixEpochTo() - $__unixEpochFrom()) * 1000.0 / ({{points}} - 1)))::bigint AS bucket,
           m.lo, m.hi
    FROM lead l
    JOIN waveform w ON w.patient_id = l.patient_id AND w.signal_index = l.signal_index
    -- the chunk's stored extremes; rows written before they were stored fall back to the samples
    CROSS JOIN LATERAL (SELECT coalesce(w.lo, (SELECT min(v) FROM unnest(w.samples) AS v)) AS lo,
                               coalesce(w.hi, (SELECT max(v) FROM unnest(w.samples) AS v)) AS hi) m
    WHERE greatest($__interval_ms, ceil(($__unixEpochTo() - $__unixEpochFrom()) * 1000.0 / ({{points}} - 1)))::bigint >= 1000 AND $__timeFilter(w.time)
)
SELECT to_timestamp(bucket / 1000.0) AS "time",
       lead AS metric,
       least(min((lo - baseline) / gain), min((hi - baseline) / gain)) AS "min mV",
       greatest(max((lo - baseline) / gain), max((hi - baseline) / gain)) AS "max mV"
FROM extremes
GROUP BY 1, 2
ORDER BY 1, 2
