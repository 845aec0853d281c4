variable "name" {
  description = "Name prefix for every resource, e.g. ecgdashboard-prod."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets for the brokers, one per availability zone; the broker count must be a multiple of their number."
  type        = list(string)
}

variable "security_group_id" {
  description = "Security group of the brokers (modules/security_groups: rules exist before the cluster)."
  type        = string
}

variable "kms_key_arn" {
  description = "ARN of the KMS key for broker storage and the SCRAM secrets."
  type        = string
}

variable "log_group_name" {
  description = "CloudWatch log group receiving the broker logs."
  type        = string
}

variable "kafka_version" {
  description = "Apache Kafka version of the MSK cluster."
  type        = string
  default     = "3.8.x"
}

variable "broker_count" {
  description = "Number of brokers (the 2018 fleet ran 4)."
  type        = number
  default     = 4
}

variable "instance_type" {
  description = "MSK broker instance type, e.g. kafka.t3.small (dev) or kafka.m7g.large (prod)."
  type        = string
  default     = "kafka.m7g.large"
}

variable "volume_size_gb" {
  description = "EBS storage per broker in GiB. 1 s of 2 leads at 360 Hz is ~1.5 kB; size for retention_hours of all patients."
  type        = number
  default     = 500
}

variable "retention_hours" {
  description = "How long the brokers keep ECG messages (the 2018 original kept 10 minutes, too short to replay an outage)."
  type        = number
  default     = 168
}

variable "partitions" {
  description = "Default partition count of new topics (ecg.waveform is keyed by patient). Matches ECG_PARTITIONS."
  type        = number
  default     = 12
}

variable "replication_factor" {
  description = "Replication factor of new topics; min.insync.replicas is one less (at least 1)."
  type        = number
  default     = 3
}

variable "enhanced_monitoring" {
  description = "MSK CloudWatch metrics level: DEFAULT, PER_BROKER, PER_TOPIC_PER_BROKER or PER_TOPIC_PER_PARTITION (consumer lag metrics come at every level)."
  type        = string
  default     = "PER_BROKER"
}

variable "topic" {
  description = "The waveform topic (ECG_TOPIC)."
  type        = string
  default     = "ecg.waveform"
}

variable "dlq_topic" {
  description = "The dead-letter topic (ECG_DLQ_TOPIC)."
  type        = string
  default     = "ecg.waveform.dlq"
}

variable "consumer_group_prefix" {
  description = "Prefix of the consumer groups the jobs commit their progress under for lag monitoring (ecgdash.raw_writer, ecgdash.alarm_job and, if it runs, ecgdash.hr_job)."
  type        = string
  default     = "ecgdash."
}

variable "gateways" {
  description = "Hospital ECG gateways, one SASL/SCRAM user gw-<name> each (write access to the waveform topic only). Lowercase letters, digits and dashes."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for g in var.gateways : can(regex("^[a-z0-9][a-z0-9-]{0,40}$", g))])
    error_message = "gateway names must be lowercase letters, digits and dashes (at most 41 characters)."
  }
}

variable "secret_recovery_window_days" {
  description = "Days a deleted secret can still be restored (7-30); its name stays reserved that long."
  type        = number
  default     = 30
}
