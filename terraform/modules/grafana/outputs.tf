output "mode" {
  description = "Grafana mode: ec2 or managed."
  value       = var.mode
}

output "url" {
  description = "Where users open Grafana: the internal load balancer (point the certificate's DNS name at it) or the managed workspace endpoint."
  value       = local.is_ec2 ? "https://${one(aws_lb.this[*].dns_name)}" : "https://${one(aws_grafana_workspace.this[*].endpoint)}"
}

output "admin_secret_arn" {
  description = "ARN of the secret with the Grafana admin password (ec2 mode), null for managed. The value is not output."
  value       = one(aws_secretsmanager_secret.admin[*].arn)
}

output "provisioning_files" {
  description = "Provisioning files uploaded from the repository's grafana/provisioning."
  value       = sort(tolist(local.provisioning))
}

output "instance_id" {
  description = "Grafana instance (ec2 mode), else null: its status checks are alarmed."
  value       = one(aws_instance.this[*].id)
}

output "load_balancer_arn_suffix" {
  description = "ARN suffix of the internal load balancer (ec2 mode), for its CloudWatch metrics."
  value       = one(aws_lb.this[*].arn_suffix)
}

output "target_group_arn_suffix" {
  description = "ARN suffix of Grafana's target group (ec2 mode): an unhealthy Grafana is alarmed."
  value       = one(aws_lb_target_group.this[*].arn_suffix)
}
