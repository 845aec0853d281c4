# The database in one of three modes (var.mode), with one contract for the rest of the fleet:
# host, port, database name and three Secrets Manager secrets (owner, ecg_writer, ecg_reader).
#
#   ec2       TimescaleDB on an EC2 host set up by cloud-init (ec2.tf): encrypted gp3 data
#             volume, pgBackRest to S3 (SSE-KMS) plus daily EBS snapshots.
#   rds       RDS for PostgreSQL (rds.tf). AWS RDS and Aurora do NOT offer the timescaledb
#             extension: `ecgdash db migrate` detects that and applies only the schema's
#             PostgreSQL mode (plain tables, views instead of continuous aggregates, no
#             compression or retention policies). For hospitals whose policy requires RDS.
#   external  a database this module does not create: Timescale Cloud (made by the separate root
#             terraform/timescale-cloud, whose outputs fill var.external) or any PostgreSQL 14+.
#
# Migrations run at deploy time on the ops host as the owner role (the secret owner_secret_arn):
# in ec2 mode `ecg_owner`, a NOSUPERUSER CREATEROLE role that owns the database (cloud-init
# creates it; the postgres superuser has no password and logs in over the local socket only); in
# rds mode RDS's master user (rds_superuser, not a superuser); in external mode the service's
# owner (Timescale Cloud: tsdbadmin). `ecgdash db migrate` creates ecg_writer and ecg_reader with
# the passwords generated here. Terraform never connects to the database.

locals {
  is_ec2      = var.mode == "ec2"
  is_rds      = var.mode == "rds"
  is_external = var.mode == "external"
  owner_role  = "ecg_owner"
  app_roles = {
    writer = "ecg_writer"
    reader = "ecg_reader"
  }
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

# Owner credentials of the ec2 host (RDS manages its master secret itself, rds.tf; an external
# database brings its own, var.external.owner_secret_arn).
resource "random_password" "owner" {
  count = local.is_ec2 ? 1 : 0

  length  = 40
  special = false
}

resource "aws_secretsmanager_secret" "owner" {
  #checkov:skip=CKV2_AWS_57:The owner password is set by cloud-init at first boot; rotate by writing a new version and running ALTER ROLE on the host (README).
  count = local.is_ec2 ? 1 : 0

  name                    = "${var.name}/db/owner"
  description             = "Owner role of the ECGdashboard database (used by `ecgdash db migrate` at deploy time)"
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = var.secret_recovery_window_days
}

resource "aws_secretsmanager_secret_version" "owner" {
  count = local.is_ec2 ? 1 : 0

  secret_id     = aws_secretsmanager_secret.owner[0].id
  secret_string = jsonencode({ username = local.owner_role, password = random_password.owner[0].result })
}
