# --- the site: account, network, people -------------------------------------------------------

variable "environment" {
  description = "Environment name (dev, prod, ...): resource names are ecgdashboard-<environment>-*."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,15}$", var.environment))
    error_message = "environment: 2-16 lowercase letters, digits or dashes (it ends up in bucket and cluster names)."
  }
}

variable "azs" {
  description = "Availability zones (2 or 3); the Kafka broker count must be a multiple of their number."
  type        = list(string)
}

variable "vpc_cidr" {
  description = "CIDR of the VPC; must not overlap the hospital networks."
  type        = string
}

variable "single_nat_gateway" {
  description = "One NAT gateway for all zones (cheaper) instead of one per zone."
  type        = bool
  default     = false
}

variable "hospital_network" {
  description = "The hospital networks (cidrs: routed to this VPC, allowed to open Grafana) and their attachment: transit_gateway_id, vpn {customer_gateway_ip, bgp_asn, static_routes_only} and/or direct_connect_gateway_id (modules/network)."
  type = object({
    cidrs              = list(string)
    transit_gateway_id = optional(string)
    vpn = optional(object({
      customer_gateway_ip = string
      bgp_asn             = optional(number, 65000)
      static_routes_only  = optional(bool, true)
    }))
    direct_connect_gateway_id = optional(string)
    amazon_side_asn           = optional(number, 64512)
  })

  validation {
    condition     = length(var.hospital_network.cidrs) > 0
    error_message = "hospital_network.cidrs must list the hospital networks (Grafana is reachable from them only)."
  }
}

variable "gateways" {
  description = "Names of the hospital ECG gateways; each gets its own SASL/SCRAM user gw-<name> and secret, allowed to write the waveform topic only."
  type        = list(string)
  default     = []
}

variable "gateway_cidrs" {
  description = "Hospital subnets the ECG gateways produce from (MSK port 9096 admits them); inside hospital_network.cidrs."
  type        = list(string)
  default     = []
}

variable "gateway_credential_reader_roles" {
  description = "IAM roles (hospital IT) given the policy that reads the gateways' SCRAM secrets."
  type        = list(string)
  default     = []
}

variable "alarm_emails" {
  description = "Addresses subscribed to the pipeline alarm topic (job staleness, consumer lag, restarts, deploy failures, EMR, hosts)."
  type        = list(string)
  default     = []
}

# --- the release ---------------------------------------------------------------------------------

variable "app_version" {
  description = "Version of the ecgdashboard wheel uploaded to s3://<artifacts>/releases/ecgdashboard-<version>-py3-none-any.whl."
  type        = string
}

variable "replay" {
  description = "Demo replay on the ops host: `ecgdash ingest s3://<data bucket>/<prefix> <args>` as gateway gw-replay; null for none (real gateways only)."
  type = object({
    prefix = string
    args   = optional(string, "--loop --speed 1 --quiet")
  })
  default = null
}

# --- sizes ---------------------------------------------------------------------------------------

variable "kafka" {
  description = "MSK cluster: brokers, instance type, storage per broker, replication, partitions of the ECG topics, monitoring level, retention."
  type = object({
    broker_count        = number
    instance_type       = string
    volume_size_gb      = number
    replication_factor  = number
    partitions          = number
    enhanced_monitoring = optional(string, "PER_BROKER")
    retention_hours     = optional(number, 168)
  })
}

variable "spark_clusters" {
  description = "EMR clusters by name, each with the streaming jobs it runs and its node types and counts: raw-writer and alarm-job exactly once each overall (the alarm job decides the patient alarms and stores the beats), hr-job at most once (then the heart-rate job stores the beats and the alarm job only decides alarms: ECG_ALARM_WRITES_BEATS is derived from it)."
  type = map(object({
    jobs                  = list(string)
    primary_instance_type = string
    core_instance_type    = string
    core_instance_count   = number
    executors_per_job     = number
  }))

  validation {
    # compared as strings: a list(string) never equals a tuple literal such as ["a", "b"]
    condition     = contains(["alarm-job,raw-writer", "alarm-job,hr-job,raw-writer"], join(",", sort(flatten([for c in values(var.spark_clusters) : c.jobs]))))
    error_message = "spark_clusters must run raw-writer and alarm-job exactly once each and hr-job at most once (no other jobs)."
  }
}

variable "database" {
  description = "The database: mode ec2 (self-managed TimescaleDB), rds (PostgreSQL, no TimescaleDB) or external (Timescale Cloud from terraform/timescale-cloud: external = its outputs, external_cidrs = where it listens); sizes of the ec2 host and of RDS; backup retention."
  type = object({
    mode                    = optional(string, "ec2")
    instance_type           = string
    volume_size_gb          = number
    data_volume_iops        = optional(number, 3000)
    rds_instance_class      = string
    rds_multi_az            = bool
    backup_retention_days   = number
    snapshot_retention_days = optional(number, 14)
    external = optional(object({
      host                     = string
      port                     = optional(number, 5432)
      database_name            = optional(string, "tsdb")
      timescaledb              = optional(bool, true)
      owner_secret_arn         = string
      owner_secret_kms_key_arn = optional(string)
    }))
    external_cidrs = optional(list(string), ["0.0.0.0/0"])
  })

  validation {
    condition     = contains(["ec2", "rds", "external"], var.database.mode) && (var.database.mode != "external" || var.database.external != null)
    error_message = "database.mode must be ec2, rds or external; external needs database.external."
  }
}

variable "grafana" {
  description = "Grafana: mode ec2 (OSS behind an internal HTTPS load balancer) or managed; instance type, ACM certificate, versions; alert e-mail recipients, webhook contact point, SMTP server (password in an existing secret); dashboards' minimum refresh."
  type = object({
    mode              = optional(string, "ec2")
    instance_type     = string
    certificate_arn   = string
    version           = optional(string, "11.6.0")
    managed_version   = optional(string, "10.4")
    alert_emails      = list(string)
    alert_webhook_url = string
    smtp = object({
      host                = string
      port                = optional(number, 587)
      user                = string
      from_address        = string
      from_name           = optional(string, "ECGdashboard")
      password_secret_arn = string
    })
    min_refresh_interval = optional(string, "1s")
  })
}

variable "app_settings" {
  description = "More non-secret ECG_* settings of the ecgdash CLI for the jobs and the ops host (e.g. ECG_MAX_OFFSETS_PER_TRIGGER, ECG_ALARM_TRIGGER_S); they override the composition's own, except ECG_ALARM_WRITES_BEATS, which follows from spark_clusters."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for k in keys(var.app_settings) : can(regex("^ECG_[A-Z0-9_]+$", k)) && !can(regex("PASSWORD|DSN|SASL_USERNAME", k))])
    error_message = "app_settings holds non-secret ECG_* settings only."
  }

  validation {
    condition     = !contains(keys(var.app_settings), "ECG_ALARM_WRITES_BEATS")
    error_message = "ECG_ALARM_WRITES_BEATS follows from spark_clusters (false when hr-job runs, else true); do not set it in app_settings."
  }
}

variable "ops_instance_type" {
  description = "Instance type of the ops host (deploy tasks, demo replay, probes)."
  type        = string
  default     = "t3.small"
}

# --- retention, monitoring, protection -------------------------------------------------------------

variable "waveform_retention_days" {
  description = "Raw waveform retention in the database (ECG_RETENTION_DAYS, TimescaleDB mode)."
  type        = number
  default     = 30
}

variable "log_retention_days" {
  description = "CloudWatch log retention in days (at least 365)."
  type        = number
  default     = 365
}

variable "create_cloudtrail" {
  description = "Create this environment's CloudTrail trail (false when an organization trail exists)."
  type        = bool
  default     = true
}

variable "metric_namespace" {
  description = "CloudWatch namespace of the custom metrics (staleness, job restarts, deploy failures)."
  type        = string
  default     = "ECGdashboard"
}

variable "stale_after_seconds" {
  description = "Seconds without a committed micro-batch after which a job's staleness alarm fires, for each of raw-writer, alarm-job and hr-job (raw-writer and alarm-job trigger every 2 s, hr-job every 60 s by default)."
  type        = map(number)
  default     = { "raw-writer" = 60, "alarm-job" = 60, "hr-job" = 300 }

  validation {
    condition = (
      length(setsubtract(["raw-writer", "alarm-job", "hr-job"], keys(var.stale_after_seconds))) == 0
      && alltrue([for v in values(var.stale_after_seconds) : v > 0])
    )
    error_message = "stale_after_seconds needs a positive threshold for each of raw-writer, alarm-job and hr-job."
  }
}

variable "lag_alarm_seconds" {
  description = "Consumer lag (MSK EstimatedMaxTimeLag) in seconds that raises an alarm."
  type        = number
  default     = 60
}

variable "deletion_protection" {
  description = "Deletion and termination protection on the database, Grafana host and load balancer, and EMR clusters."
  type        = bool
  default     = true
}

variable "grafana_provisioning_dir" {
  description = "Folder of the Grafana provisioning files to upload; null for the repository's grafana/provisioning."
  type        = string
  default     = null
}
