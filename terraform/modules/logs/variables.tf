variable "name" {
  description = "Name prefix for every resource, e.g. ecgdashboard-prod."
  type        = string
}

variable "kms_key_arn" {
  description = "ARN of the KMS key that encrypts the log groups, the trail and its SNS topic."
  type        = string
}

variable "retention_in_days" {
  description = "How long CloudWatch keeps application, broker and flow logs. 365 or more for audit."
  type        = number
  default     = 365

  validation {
    condition     = var.retention_in_days >= 365
    error_message = "retention_in_days must be at least 365 (one year of audit trail)."
  }
}

variable "create_cloudtrail" {
  description = "Create a multi-region CloudTrail trail. Set false when an organization trail already covers the account."
  type        = bool
  default     = true
}

variable "audit_bucket_name" {
  description = "Name of the S3 bucket that receives CloudTrail files (modules/s3, bucket audit)."
  type        = string
}

variable "data_bucket_arn" {
  description = "ARN of the bucket with ECG records; its object reads and writes are logged as CloudTrail data events."
  type        = string
}
