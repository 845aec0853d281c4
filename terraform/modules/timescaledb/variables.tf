variable "name" {
  description = "Name prefix for every resource, e.g. ecgdashboard-prod."
  type        = string
}

variable "mode" {
  description = "Where the database runs: ec2 (self-managed TimescaleDB), rds (RDS PostgreSQL: NO TimescaleDB, the schema's plain PostgreSQL mode) or external (Timescale Cloud from terraform/timescale-cloud, or another existing PostgreSQL)."
  type        = string
  default     = "ec2"

  validation {
    condition     = contains(["ec2", "rds", "external"], var.mode)
    error_message = "mode must be ec2, rds or external."
  }
}

variable "external" {
  description = "The database of mode external: where it listens, whether it has TimescaleDB, and the existing secret with its owner role's credentials ({username, password}) and that secret's KMS key when not this environment's."
  type = object({
    host                     = string
    port                     = optional(number, 5432)
    database_name            = optional(string, "tsdb")
    timescaledb              = optional(bool, true)
    owner_secret_arn         = string
    owner_secret_kms_key_arn = optional(string)
  })
  default = null

  validation {
    condition     = var.external == null || can(regex("^arn:", var.external.owner_secret_arn))
    error_message = "external.owner_secret_arn must be the ARN of an existing secret."
  }
}

variable "vpc_cidr" {
  description = "CIDR of the VPC; pg_hba.conf of the EC2 database accepts TLS connections from it (the security group narrows further)."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets: the EC2 host uses the first, RDS uses all (subnet group)."
  type        = list(string)
}

variable "security_group_id" {
  description = "Security group of the database (modules/security_groups): 5432 from the Spark nodes, the ops host and Grafana."
  type        = string
}

variable "log_group_name" {
  description = "CloudWatch log group the database host's agent ships PostgreSQL and pgBackRest logs to."
  type        = string
}

variable "kms_key_arn" {
  description = "ARN of the KMS key for volumes, RDS storage, Performance Insights, secrets and backups."
  type        = string
}

variable "database_name" {
  description = "Name of the application database."
  type        = string
  default     = "ecg"
}

variable "postgres_major_version" {
  description = "PostgreSQL major version (EC2 packages and RDS engine)."
  type        = number
  default     = 17
}

variable "deletion_protection" {
  description = "Protect the database against deletion (EC2 termination protection, RDS deletion protection)."
  type        = bool
  default     = true
}

variable "secret_recovery_window_days" {
  description = "Days a deleted secret can still be restored (7-30)."
  type        = number
  default     = 30
}

# --- ec2 -------------------------------------------------------------------------------------------

variable "instance_type" {
  description = "EC2 instance type of the self-managed TimescaleDB host."
  type        = string
  default     = "m7i.large"
}

variable "ami_id" {
  description = "AMI of the database host; null picks the newest Ubuntu 24.04 LTS amd64 image from Canonical."
  type        = string
  default     = null
}

variable "data_volume_size_gb" {
  description = "Size of the encrypted gp3 data volume in GiB (chunks of smallint[] take ~2.3 bytes per sample before compression)."
  type        = number
  default     = 500
}

variable "data_volume_iops" {
  description = "Provisioned IOPS of the gp3 data volume (3000 is the free baseline)."
  type        = number
  default     = 3000
}

variable "instance_profile_name" {
  description = "Instance profile of the database host (modules/iam)."
  type        = string
}

variable "backups_bucket" {
  description = "Name of the bucket holding the pgBackRest repository."
  type        = string
}

variable "backup_retention_days" {
  description = "Days pgBackRest keeps backups (time-based full retention: every full backup younger than this, and the differentials and WAL that depend on them); RDS automated backup retention in rds mode."
  type        = number
  default     = 35
}

variable "snapshot_retention_days" {
  description = "Days the daily EBS snapshots of the data volume are kept (second line of backup)."
  type        = number
  default     = 14
}

# --- rds -------------------------------------------------------------------------------------------

variable "rds_instance_class" {
  description = "RDS instance class (rds mode)."
  type        = string
  default     = "db.m7g.large"
}

variable "rds_allocated_storage_gb" {
  description = "Initial RDS storage in GiB; autoscaling may grow it to four times this."
  type        = number
  default     = 200
}

variable "rds_multi_az" {
  description = "Run RDS with a synchronous standby in a second zone."
  type        = bool
  default     = true
}
