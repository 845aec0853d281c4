# The ids are handed out only after every rule exists: whatever is launched into these groups
# (the EMR cluster above all, which runs its bootstrap at once) starts with its paths open.

output "ids" {
  description = "Security group id by role: msk, db, emr_primary, emr_core, emr_service_access, ops, grafana, grafana_alb."
  value       = { for k, g in aws_security_group.this : k => g.id }

  depends_on = [
    aws_vpc_security_group_ingress_rule.from_group,
    aws_vpc_security_group_ingress_rule.from_cidr,
    aws_vpc_security_group_egress_rule.to_group,
    aws_vpc_security_group_egress_rule.to_cidr,
  ]
}
