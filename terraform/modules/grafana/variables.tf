variable "name" {
  description = "Name prefix for every resource, e.g. ecgdashboard-prod."
  type        = string
}

variable "mode" {
  description = "ec2 (Grafana OSS on an instance behind an internal HTTPS load balancer, file provisioning from the repo) or managed (Amazon Managed Grafana, SSO)."
  type        = string
  default     = "ec2"

  validation {
    condition     = contains(["ec2", "managed"], var.mode)
    error_message = "mode must be ec2 or managed."
  }
}

variable "vpc_id" {
  description = "ID of the VPC."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets for the load balancer, the instance (first subnet) or the managed workspace's VPC attachment."
  type        = list(string)
}

variable "allowed_cidrs" {
  description = "Hospital networks (VPN, Direct Connect) allowed to open Grafana over HTTPS. Never 0.0.0.0/0."
  type        = list(string)

  validation {
    condition     = length(var.allowed_cidrs) > 0 && alltrue([for c in var.allowed_cidrs : !contains(["0.0.0.0/0", "::/0"], c)])
    error_message = "allowed_cidrs must list the hospital networks and must not be 0.0.0.0/0 or ::/0."
  }
}

variable "certificate_arn" {
  description = "ACM certificate of Grafana's host name for the HTTPS listener (ec2 mode)."
  type        = string
  default     = null
}

variable "instance_type" {
  description = "EC2 instance type of the Grafana host (the 2018 UI ran on a t2.micro)."
  type        = string
  default     = "t3.small"
}

variable "ami_id" {
  description = "AMI of the Grafana host; null picks the newest Ubuntu 24.04 LTS amd64 image from Canonical."
  type        = string
  default     = null
}

variable "grafana_version" {
  description = "Grafana OSS package version installed on EC2 (pinned), or the Amazon Managed Grafana version."
  type        = string
  default     = "11.6.0"
}

variable "instance_profile_name" {
  description = "Instance profile of the Grafana host (modules/iam)."
  type        = string
}

variable "kms_key_arn" {
  description = "ARN of the KMS key for the root volume, the admin secret and the provisioning objects."
  type        = string
}

variable "artifacts_bucket" {
  description = "Artifacts bucket; the provisioning files are uploaded under grafana/provisioning/."
  type        = string
}

variable "access_logs_bucket" {
  description = "Bucket receiving the load balancer's access logs (SSE-S3, modules/s3 access_logs)."
  type        = string
}

variable "provisioning_dir" {
  description = "Local path of the repository's grafana/provisioning folder (datasources, dashboards, alerting)."
  type        = string
}

variable "db_host" {
  description = "Database host exported to Grafana as ECG_DB_HOST (used by the provisioned datasource via $__env)."
  type        = string
}

variable "db_port" {
  description = "Database port exported to Grafana as ECG_DB_PORT."
  type        = number
}

variable "db_name" {
  description = "Database name exported to Grafana as ECG_DB_NAME."
  type        = string
}

variable "db_egress_cidr" {
  description = "Where Grafana may open PostgreSQL connections: null for the VPC (ec2, rds), 0.0.0.0/0 for a Timescale Cloud endpoint outside the VPC."
  type        = string
  default     = null
}

variable "db_reader_secret_arn" {
  description = "ARN of the ecg_reader secret; its password is exported to Grafana as ECG_DB_READER_PASSWORD at start."
  type        = string
}

variable "timescaledb" {
  description = "Whether the database has TimescaleDB (exported as ECG_DB_TIMESCALEDB for the datasource's jsonData.timescaledb)."
  type        = bool
}

variable "deletion_protection" {
  description = "Protect the instance and the load balancer against deletion."
  type        = bool
  default     = true
}

variable "secret_recovery_window_days" {
  description = "Days a deleted secret can still be restored (7-30)."
  type        = number
  default     = 30
}
