output "grafana_url" {
  description = "Where hospital users open Grafana (point the certificate's DNS name at the load balancer)."
  value       = module.grafana.url
}

output "kafka_bootstrap_brokers" {
  description = "MSK bootstrap servers for SASL/SCRAM over TLS (the gateways' and jobs' ECG_KAFKA_BOOTSTRAP)."
  value       = module.kafka.bootstrap_brokers_sasl_scram
}

output "gateway_secret_arns" {
  description = "Per gateway, the ARN of its SASL/SCRAM secret (user gw-<name>); hospital IT reads it with the gateway credentials policy. The values are not output."
  value       = { for k, arn in module.kafka.secret_arns : trimprefix(k, "gw-") => arn if startswith(k, "gw-") }
}

output "gateway_credentials_policy_arn" {
  description = "Managed policy to attach to whoever configures the gateways (null without gateways)."
  value       = module.iam.gateway_credentials_policy_arn
}

output "secrets" {
  description = "Where each secret lives (ARNs; the values are never output)."
  value = {
    database_owner  = module.timescaledb.owner_secret_arn
    database_writer = module.timescaledb.writer_secret_arn
    database_reader = module.timescaledb.reader_secret_arn
    grafana_admin   = module.grafana.admin_secret_arn
    smtp_password   = var.grafana.smtp.password_secret_arn
    kafka           = module.kafka.secret_arns
  }
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
  description = "EMR cluster id per Spark cluster (open a shell on the primary with SSM; jobs are ecgdash-job@<job>.service)."
  value       = { for k, m in module.spark : k => m.cluster_id }
}

output "ops_autoscaling_group" {
  description = "Auto Scaling group of the ops host (deploy tasks, replay, probes)."
  value       = module.ops.autoscaling_group_name
}

output "alarm_topic_arn" {
  description = "SNS topic of the pipeline alarms."
  value       = module.alarms.topic_arn
}

output "bucket_names" {
  description = "Bucket names by purpose; upload the wheel to artifacts/releases/, demo records to data/."
  value       = module.s3.bucket_names
}

output "log_group_names" {
  description = "CloudWatch log groups by purpose."
  value       = module.logs.log_group_names
}

output "kms_key_arn" {
  description = "ARN of the environment's KMS key."
  value       = module.kms.key_arn
}

output "vpn_tunnel_addresses" {
  description = "Outside addresses of the VPN tunnels for the hospital's customer gateway (empty without a VPN)."
  value       = module.network.vpn_tunnel_addresses
}
