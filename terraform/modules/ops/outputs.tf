output "autoscaling_group_name" {
  description = "Name of the ops host's Auto Scaling group (find its instance for an SSM session)."
  value       = aws_autoscaling_group.this.name
}

output "launch_template_id" {
  description = "ID of the ops host's launch template."
  value       = aws_launch_template.this.id
}
