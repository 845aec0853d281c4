variable "name" {
  description = "Name prefix for every bucket; the account id is appended for global uniqueness."
  type        = string
}

variable "kms_key_arn" {
  description = "ARN of the KMS key for SSE-KMS on the data, artifacts, backups and audit buckets."
  type        = string
}

variable "force_destroy" {
  description = "Allow terraform destroy to delete non-empty buckets. Keep false for anything holding patient data."
  type        = bool
  default     = false
}

variable "data_infrequent_access_after_days" {
  description = "Days after which raw WFDB records and exports move to S3 Standard-IA."
  type        = number
  default     = 30
}

variable "audit_retention_days" {
  description = "Days CloudTrail files are kept (HIPAA asks for six years of audit records: 2190)."
  type        = number
  default     = 2190
}

variable "noncurrent_version_retention_days" {
  description = "Days an overwritten or deleted object version is kept before it expires."
  type        = number
  default     = 90
}
