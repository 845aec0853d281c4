-- Pipeline health: Kafka offsets found gone when a job was told to read on
-- (ECG_FAIL_ON_DATA_LOSS=false), recorded within the range: the messages in [from, to) were never
-- read. Any row here is data loss to investigate.
SELECT recorded_at AS "recorded", topic AS "topic", kafka_partition::float8 AS "partition",
       from_offset::float8 AS "expected offset", to_offset::float8 AS "read from",
       reason AS "reason"
FROM data_loss_gaps
WHERE $__timeFilter(recorded_at)
ORDER BY recorded_at DESC
LIMIT 50
