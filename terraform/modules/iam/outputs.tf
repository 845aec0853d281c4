output "emr_service_role_arn" {
  description = "ARN of the EMR service role."
  value       = aws_iam_role.emr_service.arn
}

output "emr_instance_profile_arn" {
  description = "ARN of the instance profile of the EMR nodes."
  value       = aws_iam_instance_profile.emr_ec2.arn
}

output "emr_instance_role_arn" {
  description = "ARN of the role of the EMR nodes."
  value       = aws_iam_role.emr_ec2.arn
}

output "ops_instance_profile_arn" {
  description = "ARN of the instance profile of the ops host."
  value       = aws_iam_instance_profile.ops.arn
}

output "db_instance_profile_name" {
  description = "Name of the instance profile of the self-managed TimescaleDB host."
  value       = aws_iam_instance_profile.db.name
}

output "grafana_instance_profile_name" {
  description = "Name of the instance profile of the Grafana host."
  value       = aws_iam_instance_profile.grafana.name
}

output "gateway_credentials_policy_arn" {
  description = "ARN of the managed policy that lets hospital IT read the gateways' SCRAM secrets (null without gateways)."
  value       = one(aws_iam_policy.gateway_credentials[*].arn)
}
