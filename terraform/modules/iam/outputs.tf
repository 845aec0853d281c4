# The instance profiles and roles are handed out only once their policies are attached, so that a
# host never boots with a role that cannot yet read its secrets or its release.

output "emr_service_role_arn" {
  description = "ARN of the EMR service role."
  value       = aws_iam_role.emr_service.arn

  depends_on = [aws_iam_role_policy.emr_service, aws_iam_role_policy_attachment.emr_service]
}

output "emr_instance_profile_arn" {
  description = "ARN of the instance profile of the EMR nodes."
  value       = aws_iam_instance_profile.emr_ec2.arn

  depends_on = [aws_iam_role_policy.emr_ec2, aws_iam_role_policy_attachment.emr_ec2_ssm]
}

output "emr_instance_role_arn" {
  description = "ARN of the role of the EMR nodes."
  value       = aws_iam_role.emr_ec2.arn
}

output "ops_instance_profile_arn" {
  description = "ARN of the instance profile of the ops host."
  value       = aws_iam_instance_profile.ops.arn

  depends_on = [aws_iam_role_policy.ops, aws_iam_role_policy_attachment.ops_ssm]
}

output "db_instance_profile_name" {
  description = "Name of the instance profile of the self-managed TimescaleDB host."
  value       = aws_iam_instance_profile.db.name

  depends_on = [aws_iam_role_policy.db, aws_iam_role_policy_attachment.db_ssm]
}

output "grafana_instance_profile_name" {
  description = "Name of the instance profile of the Grafana host."
  value       = aws_iam_instance_profile.grafana.name

  depends_on = [aws_iam_role_policy.grafana, aws_iam_role_policy_attachment.grafana_ssm]
}

output "gateway_credentials_policy_arn" {
  description = "ARN of the managed policy that lets hospital IT read the gateways' SCRAM secrets (null without gateways)."
  value       = one(aws_iam_policy.gateway_credentials[*].arn)
}
