output "cluster_id" {
  description = "ID of the EMR cluster."
  value       = aws_emr_cluster.this.id
}

output "primary_security_group_id" {
  description = "Security group of the primary node (Spark drivers): allow it on the brokers and the database."
  value       = aws_security_group.primary.id
}

output "core_security_group_id" {
  description = "Security group of the core nodes (Spark executors): allow it on the brokers and the database."
  value       = aws_security_group.core.id
}

output "config_s3_uri" {
  description = "s3:// URI of the job config object (non-secret ECG_* settings)."
  value       = "s3://${var.artifacts_bucket}/${local.config_key}"
}

output "jobs" {
  description = "Streaming jobs this cluster runs."
  value       = var.jobs
}
