output "mode" {
  description = "Grafana mode: ec2 or managed."
  value       = var.mode
}

output "url" {
  description = "Where users open Grafana: the internal load balancer (point the certificate's DNS name at it) or the managed workspace endpoint."
  value       = local.is_ec2 ? "https://${one(aws_lb.this[*].dns_name)}" : "https://${one(aws_grafana_workspace.this[*].endpoint)}"
}

output "security_group_id" {
  description = "Security group of Grafana (instance or managed workspace ENIs): allow it on the database."
  value       = aws_security_group.this.id
}

output "admin_secret_arn" {
  description = "ARN of the secret with the Grafana admin password (ec2 mode), null for managed. The value is not output."
  value       = one(aws_secretsmanager_secret.admin[*].arn)
}

output "provisioning_files" {
  description = "Provisioning files uploaded from the repository's grafana/provisioning."
  value       = sort(tolist(local.provisioning))
}
