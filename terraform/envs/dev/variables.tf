variable "environment" {
  description = "Environment name, used in resource names and the Environment tag."
  type        = string
  default     = "dev"
}

variable "region" {
  description = "AWS region."
  type        = string
}

variable "azs" {
  description = "Availability zones (2 or 3); the Kafka broker count must be a multiple of their number."
  type        = list(string)
}

variable "owner" {
  description = "Team or address responsible for this deployment (Owner tag)."
  type        = string
}

variable "data_classification" {
  description = "DataClassification tag: the fleet processes patient ECGs."
  type        = string
  default     = "PHI"
}

variable "app_version" {
  description = "Version of the ecgdashboard wheel uploaded to s3://<artifacts>/releases/ecgdashboard-<version>-py3-none-any.whl."
  type        = string
}

variable "vpc_cidr" {
  description = "CIDR of the VPC; must not overlap the hospital networks."
  type        = string
  default     = "10.41.0.0/16"
}

variable "single_nat_gateway" {
  description = "One NAT gateway for all zones instead of one per zone."
  type        = bool
  default     = true
}

variable "hospital_cidrs" {
  description = "Hospital networks allowed to open Grafana (HTTPS on the internal load balancer)."
  type        = list(string)
}

variable "producer_cidrs" {
  description = "Hospital networks whose ECG gateways produce to Kafka (SASL/SCRAM over TLS)."
  type        = list(string)
  default     = []
}

variable "kafka_broker_count" {
  description = "Number of MSK brokers."
  type        = number
  default     = 2
}

variable "kafka_instance_type" {
  description = "MSK broker instance type."
  type        = string
  default     = "kafka.t3.small"
}

variable "kafka_volume_size_gb" {
  description = "EBS storage per broker in GiB."
  type        = number
  default     = 50
}

variable "kafka_replication_factor" {
  description = "Replication factor of the ECG topics."
  type        = number
  default     = 2
}

variable "kafka_partitions" {
  description = "Partitions of ecg.waveform and its dead-letter topic (ECG_PARTITIONS)."
  type        = number
  default     = 4
}

variable "kafka_enhanced_monitoring" {
  description = "MSK CloudWatch metrics level."
  type        = string
  default     = "DEFAULT"
}

variable "spark_clusters" {
  description = "EMR clusters by name, each with the streaming jobs it runs and its node types and counts."
  type = map(object({
    jobs                  = list(string)
    primary_instance_type = string
    core_instance_type    = string
    core_instance_count   = number
    executors_per_job     = number
  }))
  default = {
    streaming = {
      jobs                  = ["raw-writer", "hr-job"]
      primary_instance_type = "m6i.xlarge"
      core_instance_type    = "m6i.xlarge"
      core_instance_count   = 0
      executors_per_job     = 1
    }
  }
}

variable "database_mode" {
  description = "ec2 (self-managed TimescaleDB), timescale_cloud, or rds (RDS PostgreSQL: no TimescaleDB, plain PostgreSQL schema)."
  type        = string
  default     = "ec2"
}

variable "db_instance_type" {
  description = "Instance type of the self-managed TimescaleDB host."
  type        = string
  default     = "t3.medium"
}

variable "db_volume_size_gb" {
  description = "Encrypted data volume of the TimescaleDB host in GiB."
  type        = number
  default     = 50
}

variable "rds_instance_class" {
  description = "RDS instance class (database_mode = rds)."
  type        = string
  default     = "db.t4g.medium"
}

variable "rds_multi_az" {
  description = "Multi-AZ standby for RDS (database_mode = rds)."
  type        = bool
  default     = false
}

variable "waveform_retention_days" {
  description = "Raw waveform retention in the database (ECG_RETENTION_DAYS, TimescaleDB mode)."
  type        = number
  default     = 7
}

variable "backup_retention_days" {
  description = "Days database backups are kept in S3."
  type        = number
  default     = 7
}

variable "log_retention_days" {
  description = "CloudWatch log retention in days."
  type        = number
  default     = 365
}

variable "create_cloudtrail" {
  description = "Create this environment's CloudTrail trail (false when an organization trail exists)."
  type        = bool
  default     = true
}

variable "grafana_mode" {
  description = "ec2 (Grafana OSS behind an internal HTTPS load balancer) or managed (Amazon Managed Grafana)."
  type        = string
  default     = "ec2"
}

variable "grafana_instance_type" {
  description = "Instance type of the Grafana host."
  type        = string
  default     = "t3.micro"
}

variable "grafana_certificate_arn" {
  description = "ACM certificate for Grafana's HTTPS listener (grafana_mode = ec2)."
  type        = string
  default     = null
}

variable "timescale_project_id" {
  description = "Timescale Cloud project id (database_mode = timescale_cloud)."
  type        = string
  default     = ""
}

variable "timescale_access_key" {
  description = "Timescale Cloud client access key (database_mode = timescale_cloud); pass as TF_VAR_timescale_access_key."
  type        = string
  default     = ""
  sensitive   = true
}

variable "timescale_secret_key" {
  description = "Timescale Cloud client secret key (database_mode = timescale_cloud); pass as TF_VAR_timescale_secret_key."
  type        = string
  default     = ""
  sensitive   = true
}
