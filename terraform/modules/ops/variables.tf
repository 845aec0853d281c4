variable "name" {
  description = "Name prefix, e.g. ecgdashboard-prod."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets the Auto Scaling group may place the ops host in."
  type        = list(string)
}

variable "security_group_id" {
  description = "Security group of the ops host (modules/security_groups): Kafka, PostgreSQL and HTTPS out, nothing in."
  type        = string
}

variable "instance_profile_arn" {
  description = "Instance profile of the ops host (modules/iam)."
  type        = string
}

variable "instance_type" {
  description = "Instance type of the ops host; the replay of 1,000 beds needs about one core (confluent-kafka producer)."
  type        = string
  default     = "t3.small"
}

variable "ami_id" {
  description = "AMI of the ops host; null picks the newest Amazon Linux 2023 x86_64 image (SSM public parameter)."
  type        = string
  default     = null
}

variable "settings" {
  description = "Non-secret settings written to /etc/ecgdash/ecgdash.env: ECG_* for the ecgdash CLI, ECGDASH_* for the host's scripts (wheel URI, replay source and arguments, probes, metric namespace), SECRET_ARN_* naming the secrets read at run time, AWS_REGION."
  type        = map(string)

  validation {
    condition     = alltrue([for k in keys(var.settings) : can(regex("^(ECG_|ECGDASH_|SECRET_ARN_)[A-Z0-9_]+$|^AWS_REGION$", k))]) && !anytrue([for k in keys(var.settings) : can(regex("PASSWORD|DSN", k))])
    error_message = "settings holds ECG_*, ECGDASH_*, SECRET_ARN_* and AWS_REGION only, never a password or DSN."
  }
}

variable "acl_spec" {
  description = "The Kafka ACLs to apply at deploy time, as JSON (modules/kafka output acl_spec)."
  type        = string
}

variable "log_group_name" {
  description = "CloudWatch log group the host's agent ships the ecgdash services' logs to."
  type        = string
}
