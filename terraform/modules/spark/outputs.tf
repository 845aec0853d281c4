output "cluster_id" {
  description = "ID of the EMR cluster."
  value       = aws_emr_cluster.this.id
}

output "config_s3_uri" {
  description = "s3:// URI of the job config object (non-secret ECG_* and ECGDASH_* settings)."
  value       = "s3://${var.artifacts_bucket}/${local.config_key}"
}

output "jobs" {
  description = "Streaming jobs this cluster runs."
  value       = var.jobs
}

output "checkpoint_prefix" {
  description = "Key prefix of this cluster's checkpoints in the checkpoints bucket (<prefix>/<job>/<query>/commits/ gets an object per finished batch)."
  value       = var.name
}
