output "mode" {
  description = "Database mode: ec2, timescale_cloud or rds."
  value       = var.mode
}

output "timescaledb" {
  description = "Whether the database has the timescaledb extension (false for rds: the schema runs in its PostgreSQL mode)."
  value       = !local.is_rds
}

output "host" {
  description = "Host name or address of the database."
  value = (
    local.is_ec2 ? one(aws_instance.this[*].private_dns) :
    local.is_rds ? one(aws_db_instance.this[*].address) :
    one(timescale_service.this[*].hostname)
  )
}

output "port" {
  description = "TCP port of the database."
  value       = local.is_cloud ? one(timescale_service.this[*].port) : 5432
}

output "database_name" {
  description = "Name of the application database (Timescale Cloud services use tsdb)."
  value       = local.is_cloud ? "tsdb" : var.database_name
}

output "security_group_id" {
  description = "Security group of the database (ec2 and rds modes)."
  value       = aws_security_group.this.id
}

output "admin_secret_arn" {
  description = "ARN of the secret with the owner credentials (RDS-managed in rds mode). The value is not output."
  value       = local.is_rds ? one(aws_db_instance.this[*].master_user_secret[0].secret_arn) : aws_secretsmanager_secret.admin[0].arn
}

output "writer_secret_arn" {
  description = "ARN of the secret with the ecg_writer credentials. The value is not output."
  value       = aws_secretsmanager_secret.app["writer"].arn
}

output "reader_secret_arn" {
  description = "ARN of the secret with the ecg_reader credentials. The value is not output."
  value       = aws_secretsmanager_secret.app["reader"].arn
}
