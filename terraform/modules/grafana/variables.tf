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
  description = "ID of the VPC (target group of the load balancer)."
  type        = string
}

variable "security_group_id" {
  description = "Security group of the Grafana instance or the managed workspace's network interfaces (modules/security_groups)."
  type        = string
}

variable "alb_security_group_id" {
  description = "Security group of the internal load balancer (modules/security_groups): HTTPS from the hospital networks."
  type        = string
}

variable "log_group_name" {
  description = "CloudWatch log group the Grafana host's agent ships Grafana's log to."
  type        = string
}

variable "alert_emails" {
  description = "Addresses of the e-mail contact point (ECG_ALERT_EMAILS, joined with ';')."
  type        = list(string)

  validation {
    condition     = length(var.alert_emails) > 0 && alltrue([for e in var.alert_emails : can(regex("^[^@\\s;,\"']+@[^@\\s;,\"']+$", e))])
    error_message = "alert_emails must list at least one e-mail address (no spaces, quotes, ';' or ',')."
  }
}

variable "alert_webhook_url" {
  description = "URL of the webhook contact point (ECG_ALERT_WEBHOOK_URL): nurse call or paging integration, HTTPS."
  type        = string

  validation {
    condition     = can(regex("^https://[^\\s\"'\\\\]+$", var.alert_webhook_url))
    error_message = "alert_webhook_url must be an https:// URL without spaces, quotes or backslashes."
  }
}

variable "smtp" {
  description = "SMTP server Grafana sends alert e-mail through (e.g. Amazon SES in this region, or the hospital relay): host, port (587 STARTTLS or 465 TLS), user, sender address and name, and the ARN of an existing Secrets Manager secret with the password ({\"password\": ...} or the bare password)."
  type = object({
    host                = string
    port                = optional(number, 587)
    user                = string
    from_address        = string
    from_name           = optional(string, "ECGdashboard")
    password_secret_arn = string
  })

  validation {
    condition     = can(regex("^arn:", var.smtp.password_secret_arn)) && !can(regex("[\"'\\\\]", join("", [var.smtp.host, var.smtp.user, var.smtp.from_address, var.smtp.from_name])))
    error_message = "smtp.password_secret_arn must be a secret ARN; host, user, from_address and from_name must not contain quotes or backslashes."
  }
}

variable "min_refresh_interval" {
  description = "grafana.ini [dashboards] min_refresh_interval: the fastest refresh a dashboard may ask for (the ward wall refreshes every 1-2 s)."
  type        = string
  default     = "1s"
}

variable "subnet_ids" {
  description = "Private subnets for the load balancer, the instance (first subnet) or the managed workspace's VPC attachment."
  type        = list(string)
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
  description = "Grafana OSS apt package version installed on the EC2 host (pinned), e.g. 11.6.0."
  type        = string
  default     = "11.6.0"
}

variable "managed_grafana_version" {
  description = "Amazon Managed Grafana workspace version (managed mode): major.minor as the service offers them, e.g. 10.4."
  type        = string
  default     = "10.4"

  validation {
    condition     = can(regex("^[0-9]+\\.[0-9]+$", var.managed_grafana_version))
    error_message = "managed_grafana_version is major.minor (e.g. 10.4): Amazon Managed Grafana does not take patch versions such as 11.6.0."
  }
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
