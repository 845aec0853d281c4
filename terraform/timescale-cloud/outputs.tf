output "external_database" {
  description = "Pass as external_database (with database_mode = \"external\") to the environment."
  value = {
    host                     = timescale_service.this.hostname
    port                     = timescale_service.this.port
    database_name            = "tsdb"
    timescaledb              = true
    owner_secret_arn         = aws_secretsmanager_secret.owner.arn
    owner_secret_kms_key_arn = aws_kms_key.owner_secret.arn
  }
}
