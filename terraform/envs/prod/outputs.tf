output "grafana_url" {
  description = "Where hospital users open Grafana."
  value       = module.grafana.url
}

output "kafka_bootstrap_brokers" {
  description = "MSK bootstrap servers for SASL/SCRAM over TLS (producers' ECG_KAFKA_BOOTSTRAP)."
  value       = module.kafka.bootstrap_brokers_sasl_scram
}

output "kafka_secret_arn" {
  description = "ARN of the secret with the producers' SASL/SCRAM credentials (read it with IAM; the value is not output)."
  value       = module.kafka.scram_secret_arn
}

output "database_host" {
  description = "Database host."
  value       = module.timescaledb.host
}

output "database_timescaledb" {
  description = "Whether the database runs TimescaleDB (false in rds mode: plain PostgreSQL schema)."
  value       = module.timescaledb.timescaledb
}

output "emr_cluster_ids" {
  description = "EMR cluster id per Spark cluster (open a shell on the primary with SSM)."
  value       = { for k, m in module.spark : k => m.cluster_id }
}

output "bucket_names" {
  description = "Bucket names by purpose; upload the wheel to artifacts/releases/."
  value       = module.s3.bucket_names
}

output "kms_key_arn" {
  description = "ARN of the environment's KMS key."
  value       = module.kms.key_arn
}
