# What differs between hospitals (account, region, network, people); sizes are in main.tf.

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

variable "hospital_network" {
  description = "Hospital networks (cidrs, never overlapping the VPC) and how they attach: transit_gateway_id, vpn or direct_connect_gateway_id (see modules/network)."
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
}

variable "gateways" {
  description = "Names of the hospital ECG gateways (one SASL/SCRAM user each)."
  type        = list(string)
  default     = []
}

variable "gateway_cidrs" {
  description = "Hospital subnets the ECG gateways produce from."
  type        = list(string)
  default     = []
}

variable "gateway_credential_reader_roles" {
  description = "IAM roles of hospital IT that may read the gateways' SCRAM secrets."
  type        = list(string)
  default     = []
}

variable "grafana_certificate_arn" {
  description = "ACM certificate of Grafana's host name (HTTPS listener of the internal load balancer)."
  type        = string
}

variable "alert_emails" {
  description = "Recipients of Grafana's patient alert e-mail (ECG_ALERT_EMAILS)."
  type        = list(string)
}

variable "alert_webhook_url" {
  description = "Webhook contact point of Grafana's alerts (ECG_ALERT_WEBHOOK_URL), e.g. the nurse call integration."
  type        = string
}

variable "smtp" {
  description = "SMTP server for alert e-mail: host, port, user, from_address, from_name and the ARN of the existing secret with its password."
  type = object({
    host                = string
    port                = optional(number, 587)
    user                = string
    from_address        = string
    from_name           = optional(string, "ECGdashboard")
    password_secret_arn = string
  })
}

variable "alarm_emails" {
  description = "Recipients of the pipeline alarms (operations)."
  type        = list(string)
  default     = []
}

variable "database_mode" {
  description = "ec2 (self-managed TimescaleDB), rds (PostgreSQL without TimescaleDB) or external (Timescale Cloud: set external_database from terraform/timescale-cloud's outputs)."
  type        = string
  default     = "ec2"
}

variable "external_database" {
  description = "The database of mode external (terraform/timescale-cloud outputs): host, port, database_name, timescaledb, owner_secret_arn, owner_secret_kms_key_arn."
  type = object({
    host                     = string
    port                     = optional(number, 5432)
    database_name            = optional(string, "tsdb")
    timescaledb              = optional(bool, true)
    owner_secret_arn         = string
    owner_secret_kms_key_arn = optional(string)
  })
  default = null
}
