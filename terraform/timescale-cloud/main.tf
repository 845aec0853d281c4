# Timescale Cloud for an ECGdashboard environment, in its own root with its own state.
#
# Why a separate root: Terraform configures every provider a configuration declares, even when
# all of its resources have count = 0, and the timescale provider's Configure exchanges the
# client credentials for a token at Timescale's API ("Unable to get JWT" without valid ones).
# Keeping it out of envs/* means the default database modes (ec2, rds) never need Timescale
# credentials. Apply this root first, then pass its outputs to the environment as
# database_mode = "external" and external_database = { ... } (terraform/README.md).
#
# The owner credentials (tsdbadmin) are stored in Secrets Manager under a KMS key of this root;
# the environment's ops host reads them to run `ecgdash db migrate` at deploy time.

provider "timescale" {
  project_id = var.timescale_project_id
  access_key = var.timescale_access_key
  secret_key = var.timescale_secret_key
}

provider "aws" {
  region = var.region

  default_tags {
    tags = {
      Project            = "ECGdashboard"
      Environment        = var.environment
      Owner              = var.owner
      DataClassification = var.data_classification
      ManagedBy          = "terraform"
    }
  }
}

locals {
  name = "ecgdashboard-${var.environment}"
}

resource "timescale_service" "this" {
  name              = local.name
  milli_cpu         = var.milli_cpu
  memory_gb         = var.memory_gb
  region_code       = var.region
  enable_ha_replica = var.enable_ha_replica
}

resource "aws_kms_key" "owner_secret" {
  description             = "ECGdashboard ${local.name}: Timescale Cloud owner credentials"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.key.json
}

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

# The account administers the key through IAM; the environment's ops role gets kms:Decrypt from
# its own policy (modules/iam, db_owner_secret_kms_key_arn).
data "aws_iam_policy_document" "key" {
  #checkov:skip=CKV_AWS_111:A key policy's "*" resource is this key only.
  #checkov:skip=CKV_AWS_356:A key policy's "*" resource is this key only (AWS's documented key policy form).
  #checkov:skip=CKV_AWS_109:The account root statement delegates the key's administration to IAM, as AWS's default key policy does.
  statement {
    sid       = "AccountAdministersKeyThroughIam"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }
}

resource "aws_secretsmanager_secret" "owner" {
  #checkov:skip=CKV2_AWS_57:Timescale Cloud owns the password; rotate it in the Timescale console and write a new version.
  name                    = "${local.name}/db/timescale-cloud-owner"
  description             = "Owner credentials (tsdbadmin) of the Timescale Cloud service of ${local.name}"
  kms_key_id              = aws_kms_key.owner_secret.arn
  recovery_window_in_days = 30
}

resource "aws_secretsmanager_secret_version" "owner" {
  secret_id = aws_secretsmanager_secret.owner.id
  secret_string = jsonencode({
    username = timescale_service.this.username
    password = timescale_service.this.password
  })
}
