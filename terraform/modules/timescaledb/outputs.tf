output "mode" {
  description = "Database mode: ec2, rds or external."
  value       = var.mode
}

output "timescaledb" {
  description = "Whether the database has the timescaledb extension (false for rds: the schema runs in its PostgreSQL mode)."
  value       = local.is_external ? var.external.timescaledb : !local.is_rds
}

output "host" {
  description = "Host name or address of the database."
  value = (
    local.is_ec2 ? one(aws_instance.this[*].private_dns) :
    local.is_rds ? one(aws_db_instance.this[*].address) :
    var.external.host
  )

  precondition {
    condition     = var.mode != "external" || var.external != null
    error_message = "mode = external needs var.external (host, owner_secret_arn, ...)."
  }
}

output "port" {
  description = "TCP port of the database."
  value       = local.is_external ? var.external.port : 5432
}

output "database_name" {
  description = "Name of the application database."
  value       = local.is_external ? var.external.database_name : var.database_name
}

output "owner_secret_arn" {
  description = "ARN of the secret with the owner role's credentials (RDS-managed in rds mode). The value is not output."
  value = (
    local.is_ec2 ? one(aws_secretsmanager_secret.owner[*].arn) :
    local.is_rds ? one(aws_db_instance.this[*].master_user_secret[0].secret_arn) :
    var.external.owner_secret_arn
  )
}

output "owner_secret_kms_key_arn" {
  description = "KMS key of the owner secret when it is not this environment's key (external mode), else null."
  value       = local.is_external ? var.external.owner_secret_kms_key_arn : null
}

output "writer_secret_arn" {
  description = "ARN of the secret with the ecg_writer credentials. The value is not output."
  value       = aws_secretsmanager_secret.app["writer"].arn
}

output "reader_secret_arn" {
  description = "ARN of the secret with the ecg_reader credentials. The value is not output."
  value       = aws_secretsmanager_secret.app["reader"].arn
}

output "instance_id" {
  description = "EC2 instance of the database (ec2 mode), else null: its status checks are alarmed."
  value       = one(aws_instance.this[*].id)
}
