variable "name" {
  description = "Name prefix, e.g. ecgdashboard-prod."
  type        = string
}

variable "environment" {
  description = "Environment name (the Environment dimension of the custom metrics)."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key of the SNS topic (its key policy lets CloudWatch and EventBridge use it)."
  type        = string
}

variable "emails" {
  description = "Addresses subscribed to the alarm topic (each confirms by e-mail once)."
  type        = list(string)
  default     = []
}

variable "metric_namespace" {
  description = "CloudWatch namespace of the custom metrics (SecondsSinceLastBatch, JobRestarts, DeployFailures)."
  type        = string
  default     = "ECGdashboard"
}

variable "jobs" {
  description = "Streaming jobs by name (raw-writer, alarm-job and, if it runs, hr-job): the consumer group they commit progress under and after how many seconds without a committed batch they are stale."
  type = map(object({
    consumer_group      = string
    stale_after_seconds = number
  }))
}

variable "topic" {
  description = "The waveform topic whose consumer lag is alarmed."
  type        = string
}

variable "msk_cluster_name" {
  description = "Name of the MSK cluster (the `Cluster Name` dimension)."
  type        = string
}

variable "lag_alarm_seconds" {
  description = "Alarm when a job's consumer group is this many seconds behind the newest message."
  type        = number
  default     = 60
}

variable "emr_cluster_ids" {
  description = "IDs of the environment's EMR clusters (failed steps, terminations)."
  type        = list(string)
}

variable "instances" {
  description = "EC2 hosts whose system status check is alarmed (and recovered), by role: database, grafana."
  type        = map(string)
  default     = {}
}

variable "grafana_target" {
  description = "ARN suffixes of Grafana's load balancer and target group (ec2 mode), or null."
  type = object({
    load_balancer = string
    target_group  = string
  })
  default = null
}
