variable "name" {
  description = "Name prefix for every resource, e.g. ecgdashboard-prod."
  type        = string
}

variable "cidr" {
  description = "IPv4 CIDR of the VPC. Pick one that does not overlap the hospital network it is peered or VPN-connected to."
  type        = string
  default     = "10.40.0.0/16"
}

variable "azs" {
  description = "Availability zones to use, e.g. [\"eu-central-1a\", \"eu-central-1b\"]. Listed explicitly so the set never changes under a running fleet. MSK needs its broker count to be a multiple of their number."
  type        = list(string)

  validation {
    condition     = length(var.azs) >= 2 && length(var.azs) <= 3
    error_message = "Give 2 or 3 availability zones (MSK and RDS need at least two)."
  }
}

variable "single_nat_gateway" {
  description = "One NAT gateway for all zones (cheaper, dev) instead of one per zone (prod)."
  type        = bool
  default     = false
}

variable "interface_endpoints" {
  description = "AWS services reached through interface VPC endpoints instead of the NAT gateway."
  type        = list(string)
  default     = ["secretsmanager", "kms", "logs", "monitoring", "ssm", "ssmmessages", "ec2messages", "sts", "elasticmapreduce"]
}

variable "flow_log_destination_arn" {
  description = "ARN of the CloudWatch log group that receives the VPC flow logs (modules/logs)."
  type        = string
}

variable "flow_log_iam_role_arn" {
  description = "ARN of the role VPC Flow Logs assumes to write to the log group (modules/logs)."
  type        = string
}
