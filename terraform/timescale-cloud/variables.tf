variable "region" {
  description = "AWS region of the environment; the Timescale Cloud service is created in the same region code."
  type        = string
}

variable "environment" {
  description = "Environment name of the ECGdashboard deployment this service belongs to (dev, prod, ...)."
  type        = string
}

variable "owner" {
  description = "Team or address responsible for this deployment (Owner tag)."
  type        = string
}

variable "data_classification" {
  description = "DataClassification tag."
  type        = string
  default     = "PHI"
}

variable "timescale_project_id" {
  description = "Timescale Cloud project id (pass as TF_VAR_timescale_project_id)."
  type        = string
}

variable "timescale_access_key" {
  description = "Timescale Cloud client access key (pass as TF_VAR_timescale_access_key, never commit)."
  type        = string
  sensitive   = true
}

variable "timescale_secret_key" {
  description = "Timescale Cloud client secret key (pass as TF_VAR_timescale_secret_key, never commit)."
  type        = string
  sensitive   = true
}

variable "milli_cpu" {
  description = "CPU of the service in milli-cores."
  type        = number
  default     = 2000
}

variable "memory_gb" {
  description = "Memory of the service in GB."
  type        = number
  default     = 8
}

variable "enable_ha_replica" {
  description = "Run a high-availability replica."
  type        = bool
  default     = true
}
