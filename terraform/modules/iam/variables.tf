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

variable "data_bucket_arn" {
  description = "ARN of the data bucket (WFDB records the ops host replays, ML exports)."
  type        = string
}

variable "checkpoints_bucket_arn" {
  description = "ARN of the bucket holding the streaming jobs' checkpoints (read by the ops host's staleness probe)."
  type        = string
}

variable "backups_bucket_arn" {
  description = "ARN of the bucket holding the pgBackRest repository of the self-managed database."
  type        = string
}

variable "log_group_arns" {
  description = "ARNs of the CloudWatch log groups by purpose (modules/logs): ops, jobs, database, grafana are written by the hosts' CloudWatch agents."
  type        = map(string)
}

variable "metric_namespace" {
  description = "CloudWatch namespace of the custom metrics the hosts publish (job restarts, deploy failures, staleness)."
  type        = string
  default     = "ECGdashboard"
}

variable "db_owner_secret_arn" {
  description = "ARN of the secret with the database owner role's credentials (used by `ecgdash db migrate` on the ops host)."
  type        = string
}

variable "db_owner_secret_kms_key_arn" {
  description = "KMS key of the owner secret when it is not this environment's key (a Timescale Cloud root's), else null."
  type        = string
  default     = null
}

variable "db_writer_secret_arn" {
  description = "ARN of the Secrets Manager secret with the ecg_writer credentials (Spark jobs)."
  type        = string
}

variable "db_reader_secret_arn" {
  description = "ARN of the Secrets Manager secret with the ecg_reader credentials (Grafana, exports)."
  type        = string
}

variable "kafka_secret_arns" {
  description = "ARNs of the MSK SASL/SCRAM secrets by user key (modules/kafka): jobs, ops, and gw-<gateway> for each hospital gateway."
  type        = map(string)
}

variable "grafana_admin_secret_arn" {
  description = "ARN of the Secrets Manager secret with the Grafana admin password, or null with Amazon Managed Grafana."
  type        = string
  default     = null
}

variable "smtp_password_secret_arn" {
  description = "ARN of the existing secret holding the SMTP password Grafana sends alert e-mail with, or null."
  type        = string
  default     = null
}

variable "gateway_credential_reader_roles" {
  description = "Names of IAM roles (hospital IT) that get the policy to read the gateways' SCRAM secrets."
  type        = list(string)
  default     = []
}
