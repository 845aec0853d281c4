output "log_group_names" {
  description = "CloudWatch log group names by purpose: ops, jobs, database, grafana, kafka, flow_logs, cloudtrail."
  value       = merge({ for k, g in aws_cloudwatch_log_group.this : k => g.name }, { cloudtrail = aws_cloudwatch_log_group.cloudtrail.name })
}

output "log_group_arns" {
  description = "CloudWatch log group ARNs by purpose: ops, jobs, database, grafana, kafka, flow_logs, cloudtrail."
  value       = merge({ for k, g in aws_cloudwatch_log_group.this : k => g.arn }, { cloudtrail = aws_cloudwatch_log_group.cloudtrail.arn })
}

output "flow_log_iam_role_arn" {
  description = "ARN of the role VPC Flow Logs assumes to write the flow log group."
  value       = aws_iam_role.flow_logs.arn
}

output "cloudtrail_arn" {
  description = "ARN of the trail, or null when create_cloudtrail is false."
  value       = try(aws_cloudtrail.this[0].arn, null)
}
