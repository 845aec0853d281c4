# The database in one of three modes (var.mode), with one contract for the rest of the fleet:
# host, port, database name and three Secrets Manager secrets (admin, ecg_writer, ecg_reader).
#
#   ec2              TimescaleDB on an EC2 host set up by cloud-init (ec2.tf): encrypted gp3 data
#                    volume, pgBackRest to S3 (SSE-KMS) plus daily EBS snapshots.
#   timescale_cloud  Timescale's managed service through the timescale/timescale provider
#                    (timescale_cloud.tf).
#   rds              RDS for PostgreSQL (rds.tf). AWS RDS and Aurora do NOT offer the timescaledb
#                    extension: `ecgdash db migrate` detects that and applies only the schema's
#                    PostgreSQL mode (plain tables, views instead of continuous aggregates, no
#                    compression or retention policies). For hospitals whose policy requires RDS.
#
# Roles ecg_writer and ecg_reader are created by `ecgdash db migrate` (run by the Spark job wrapper)
# with the passwords generated here; Terraform never connects to the database.

locals {
  is_ec2   = var.mode == "ec2"
  is_rds   = var.mode == "rds"
  is_cloud = var.mode == "timescale_cloud"
  app_roles = {
    writer = "ecg_writer"
    reader = "ecg_reader"
  }
}

resource "aws_security_group" "this" {
  name        = "${var.name}-db"
  description = "PostgreSQL/TimescaleDB: 5432 from the Spark nodes and Grafana only"
  vpc_id      = var.vpc_id

  tags = { Name = "${var.name}-db" }
}

resource "aws_vpc_security_group_ingress_rule" "postgres" {
  for_each = var.client_security_group_ids

  security_group_id            = aws_security_group.this.id
  description                  = "PostgreSQL over TLS from ${each.key}"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = each.value
}

# Terraform removes the default allow-all egress: the EC2 host needs HTTPS (apt repositories, S3,
# Secrets Manager) and HTTP (Ubuntu mirrors, signed packages) through the NAT gateway / endpoints.
resource "aws_vpc_security_group_egress_rule" "ec2_packages" {
  for_each = local.is_ec2 ? { https = 443, http = 80 } : {}

  security_group_id = aws_security_group.this.id
  description       = "${each.key} from the TimescaleDB host to package repositories and AWS APIs"
  ip_protocol       = "tcp"
  from_port         = each.value
  to_port           = each.value
  cidr_ipv4         = "0.0.0.0/0"
}

# --- Secrets: generated passwords kept in Secrets Manager, never output ----------------------------

resource "random_password" "app" {
  for_each = local.app_roles

  length  = 40
  special = false
}

resource "aws_secretsmanager_secret" "app" {
  #checkov:skip=CKV2_AWS_57:Rotation of ecg_writer/ecg_reader is `ecgdash db migrate` with a new version; no rotation Lambda.
  for_each = local.app_roles

  name                    = "${var.name}/db/${each.key}"
  description             = "Credentials of the ${each.value} database role"
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = var.secret_recovery_window_days
}

resource "aws_secretsmanager_secret_version" "app" {
  for_each = local.app_roles

  secret_id     = aws_secretsmanager_secret.app[each.key].id
  secret_string = jsonencode({ username = each.value, password = random_password.app[each.key].result })
}

# Owner credentials for ec2 and timescale_cloud; RDS manages its own master secret (rds.tf).
resource "random_password" "admin" {
  count = local.is_ec2 ? 1 : 0

  length  = 40
  special = false
}

resource "aws_secretsmanager_secret" "admin" {
  #checkov:skip=CKV2_AWS_57:The owner password is set by cloud-init or Timescale Cloud; rotate by writing a new version and re-running setup.
  count = local.is_rds ? 0 : 1

  name                    = "${var.name}/db/admin"
  description             = "Owner credentials of the ECGdashboard database (used by `ecgdash db migrate`)"
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = var.secret_recovery_window_days
}

resource "aws_secretsmanager_secret_version" "admin" {
  count = local.is_rds ? 0 : 1

  secret_id = aws_secretsmanager_secret.admin[0].id
  secret_string = jsonencode({
    username = local.is_cloud ? "tsdbadmin" : "postgres"
    password = local.is_cloud ? one(timescale_service.this[*].password) : one(random_password.admin[*].result)
  })
}
