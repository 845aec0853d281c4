variable "name" {
  description = "Name of the EMR cluster, e.g. ecgdashboard-prod-raw-writer."
  type        = string
}

variable "environment" {
  description = "Environment name (the Environment dimension of the job metrics)."
  type        = string
}

variable "jobs" {
  description = "Streaming jobs this cluster runs, each under a supervisor unit on the primary node: any of raw-writer, alarm-job and hr-job."
  type        = list(string)

  validation {
    condition     = length(var.jobs) > 0 && length(distinct(var.jobs)) == length(var.jobs) && alltrue([for j in var.jobs : contains(["raw-writer", "alarm-job", "hr-job"], j)])
    error_message = "jobs must be a non-empty list of distinct jobs among raw-writer, alarm-job and hr-job."
  }
}

variable "security_group_ids" {
  description = "EMR-managed security groups from modules/security_groups (all rules exist before the cluster): primary, core, service_access."
  type = object({
    primary        = string
    core           = string
    service_access = string
  })
}

variable "subnet_id" {
  description = "Private subnet of the cluster (an EMR cluster lives in one availability zone)."
  type        = string
}

variable "release_label" {
  description = "EMR release. Only Hadoop (YARN, HDFS) is used from it; Spark 4 comes from the wheel, so any emr-7.x (Java 17) works."
  type        = string
  default     = "emr-7.9.0"
}

variable "primary_instance_type" {
  description = "Instance type of the primary node (YARN resource manager, Spark drivers)."
  type        = string
  default     = "m6i.xlarge"
}

variable "core_instance_type" {
  description = "Instance type of the core nodes (Spark executors)."
  type        = string
  default     = "m6i.xlarge"
}

variable "core_instance_count" {
  description = "Number of core nodes; 0 runs a single-node cluster (dev)."
  type        = number
  default     = 3
}

variable "ebs_size_gb" {
  description = "Encrypted gp3 EBS per node in GiB (shuffle, spill, YARN logs; checkpoints are on S3)."
  type        = number
  default     = 64
}

variable "executors_per_job" {
  description = "spark.executor.instances of each job."
  type        = number
  default     = 2
}

variable "service_role_arn" {
  description = "ARN of the EMR service role (modules/iam)."
  type        = string
}

variable "instance_profile_arn" {
  description = "ARN of the instance profile of the nodes (modules/iam)."
  type        = string
}

variable "kms_key_arn" {
  description = "ARN of the KMS key for EBS, EMR logs and S3 objects written by EMR."
  type        = string
}

variable "artifacts_bucket" {
  description = "Name of the artifacts bucket holding the wheel, the bootstrap scripts, the job config and the EMR logs."
  type        = string
}

variable "checkpoints_bucket" {
  description = "Name of the bucket holding the jobs' structured-streaming checkpoints (s3a://<bucket>/<cluster>/<job>/...)."
  type        = string
}

variable "log_group_name" {
  description = "CloudWatch log group the nodes' agents ship the supervisors' logs to."
  type        = string
}

variable "metric_namespace" {
  description = "CloudWatch namespace of the JobRestarts metric the supervisors publish."
  type        = string
  default     = "ECGdashboard"
}

variable "db_writer_secret_arn" {
  description = "ARN of the ecg_writer secret (the jobs' database credentials, read at every start)."
  type        = string
}

variable "kafka_secret_arn" {
  description = "ARN of the jobs' SASL/SCRAM secret on MSK (read at every start)."
  type        = string
}

variable "replication_factor" {
  description = "Replication factor passed to `ecgdash kafka create-topics` when the topics are missing."
  type        = number
}

variable "wheel_s3_key" {
  description = "Key of the built wheel in the artifacts bucket, e.g. releases/ecgdashboard-0.1.0-py3-none-any.whl."
  type        = string
}

variable "app_environment" {
  description = "Non-secret ECG_* settings of the jobs (database host, Kafka bootstrap, topics, partitions, ...) written to the job config object."
  type        = map(string)

  validation {
    condition     = alltrue([for k in keys(var.app_environment) : can(regex("^ECG_[A-Z0-9_]+$", k))]) && !anytrue([for k in keys(var.app_environment) : can(regex("PASSWORD|DSN", k))])
    error_message = "app_environment holds non-secret ECG_* settings only (no passwords or DSNs)."
  }
}

variable "termination_protection" {
  description = "Protect the cluster against termination (deletion protection for the streaming fleet)."
  type        = bool
  default     = true
}

