variable "name" {
  description = "Name prefix for every group, e.g. ecgdashboard-prod."
  type        = string
}

variable "vpc_id" {
  description = "ID of the VPC."
  type        = string
}

variable "producer_cidrs" {
  description = "Private CIDRs of the hospital ECG gateways that produce to MSK (SASL/SCRAM over TLS, port 9096). Never 0.0.0.0/0."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for c in var.producer_cidrs : can(cidrhost(c, 0)) && !contains(["0.0.0.0/0", "::/0"], c)])
    error_message = "producer_cidrs must be private IPv4 CIDRs and must not open the brokers to the internet."
  }
}

variable "hospital_cidrs" {
  description = "Hospital networks allowed to open Grafana through its internal load balancer. Never 0.0.0.0/0."
  type        = list(string)

  validation {
    condition     = alltrue([for c in var.hospital_cidrs : can(cidrhost(c, 0)) && !contains(["0.0.0.0/0", "::/0"], c)])
    error_message = "hospital_cidrs must be private IPv4 CIDRs, never 0.0.0.0/0."
  }
}

variable "database_cidrs" {
  description = "Where a database outside the VPC listens (Timescale Cloud without peering: [\"0.0.0.0/0\"]); empty for a database in the VPC, reached through its security group."
  type        = list(string)
  default     = []
}

variable "smtp_port" {
  description = "TCP port of the SMTP server Grafana sends alert e-mail through (587 submission with STARTTLS, 465 implicit TLS)."
  type        = number
  default     = 587
}
