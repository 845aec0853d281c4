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

variable "hospital_network" {
  description = <<-EOT
    The hospital networks and how they reach this VPC (gateways to MSK, users to Grafana):
    cidrs                      hospital networks routed to this VPC (never overlapping var.cidr);
    transit_gateway_id         attach the private subnets to this existing Transit Gateway, or
    vpn                        a site-to-site VPN to the hospital's customer gateway (its public IP,
                               BGP ASN, static routes or BGP), or
    direct_connect_gateway_id  associate the VPC's virtual private gateway with this Direct
                               Connect gateway.
    At most one of transit_gateway_id, vpn (which may be combined with direct_connect_gateway_id
    as a backup path) and none at all (connectivity managed outside this module).
  EOT
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
  default = { cidrs = [] }

  validation {
    condition     = alltrue([for c in var.hospital_network.cidrs : can(cidrhost(c, 0)) && !contains(["0.0.0.0/0", "::/0"], c)])
    error_message = "hospital_network.cidrs must be private IPv4 CIDRs, never 0.0.0.0/0."
  }

  validation {
    condition     = var.hospital_network.transit_gateway_id == null || (var.hospital_network.vpn == null && var.hospital_network.direct_connect_gateway_id == null)
    error_message = "Use either a Transit Gateway or the virtual private gateway (VPN and/or Direct Connect), not both."
  }
}
