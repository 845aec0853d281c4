variable "name" {
  description = "Name prefix for every role, e.g. ecgdashboard-prod."
  type        = string
}

variable "kms_key_arn" {
  description = "ARN of the KMS key that encrypts buckets, volumes, secrets and logs."
  type        = string
}

variable "artifacts_bucket_arn" {
  description = "ARN of the artifacts bucket (wheel, bootstrap scripts, job config, Grafana provisioning, EMR logs)."
  type        = string
}

variable "backups_bucket_arn" {
  description = "ARN of the bucket holding the pgBackRest repository of the self-managed database."
  type        = string
}

variable "app_log_group_arn" {
  description = "ARN of the CloudWatch log group the instances ship application logs to."
  type        = string
}

variable "db_admin_secret_arn" {
  description = "ARN of the Secrets Manager secret with the database owner's credentials (used by `ecgdash db migrate`)."
  type        = string
}

variable "db_writer_secret_arn" {
  description = "ARN of the Secrets Manager secret with the ecg_writer credentials (Spark jobs)."
  type        = string
}

variable "db_reader_secret_arn" {
  description = "ARN of the Secrets Manager secret with the ecg_reader credentials (Grafana, exports)."
  type        = string
}

variable "kafka_secret_arn" {
  description = "ARN of the Secrets Manager secret with the MSK SASL/SCRAM credentials."
  type        = string
}

variable "grafana_admin_secret_arn" {
  description = "ARN of the Secrets Manager secret with the Grafana admin password, or null with Amazon Managed Grafana."
  type        = string
  default     = null
}
