# Instance roles with least privilege and no static keys: every machine gets temporary
# credentials from its instance profile. Each role may read only the secrets and S3 prefixes its
# process needs. Shell access is through SSM Session Manager (no SSH keys, no port 22).

data "aws_partition" "current" {}

locals {
  partition = data.aws_partition.current.partition
  ssm_core  = "arn:${local.partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"
}

data "aws_iam_policy_document" "ec2_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

# --- EMR service role ----------------------------------------------------------------------------

data "aws_iam_policy_document" "emr_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["elasticmapreduce.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "emr_service" {
  name               = "${var.name}-emr-service"
  assume_role_policy = data.aws_iam_policy_document.emr_assume.json
}

# The v2 managed policy only touches resources tagged for-use-with-amazon-emr-managed-policies.
resource "aws_iam_role_policy_attachment" "emr_service" {
  role       = aws_iam_role.emr_service.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonEMRServicePolicy_v2"
}

data "aws_iam_policy_document" "emr_service" {
  statement {
    sid       = "PassTheInstanceRole"
    actions   = ["iam:PassRole"]
    resources = [aws_iam_role.emr_ec2.arn]
  }
  statement {
    sid       = "EncryptedEbsWithTheKey"
    actions   = ["kms:CreateGrant", "kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:ReEncrypt*"]
    resources = [var.kms_key_arn]
  }
}

resource "aws_iam_role_policy" "emr_service" {
  name   = "pass-role-and-ebs-key"
  role   = aws_iam_role.emr_service.id
  policy = data.aws_iam_policy_document.emr_service.json
}

# --- EMR nodes: Spark driver and executors of the two streaming jobs ------------------------------

data "aws_iam_policy_document" "emr_ec2" {
  statement {
    sid     = "ReadReleaseAndJobConfig"
    actions = ["s3:GetObject"]
    resources = [
      "${var.artifacts_bucket_arn}/releases/*",
      "${var.artifacts_bucket_arn}/bootstrap/*",
      "${var.artifacts_bucket_arn}/config/*",
    ]
  }
  statement {
    sid       = "WriteEmrLogs"
    actions   = ["s3:PutObject"]
    resources = ["${var.artifacts_bucket_arn}/emr-logs/*"]
  }
  statement {
    sid       = "ListArtifacts"
    actions   = ["s3:ListBucket"]
    resources = [var.artifacts_bucket_arn]
  }
  statement {
    sid       = "JobSecrets"
    actions   = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    resources = [var.db_admin_secret_arn, var.db_writer_secret_arn, var.db_reader_secret_arn, var.kafka_secret_arn]
  }
  statement {
    sid       = "UseTheKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
  }
  statement {
    sid       = "ShipLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
    resources = ["${var.app_log_group_arn}:*"]
  }
}

resource "aws_iam_role" "emr_ec2" {
  name               = "${var.name}-emr-ec2"
  assume_role_policy = data.aws_iam_policy_document.ec2_assume.json
}

resource "aws_iam_role_policy" "emr_ec2" {
  name   = "streaming-jobs"
  role   = aws_iam_role.emr_ec2.id
  policy = data.aws_iam_policy_document.emr_ec2.json
}

resource "aws_iam_role_policy_attachment" "emr_ec2_ssm" {
  role       = aws_iam_role.emr_ec2.name
  policy_arn = local.ssm_core
}

resource "aws_iam_instance_profile" "emr_ec2" {
  name = "${var.name}-emr-ec2"
  role = aws_iam_role.emr_ec2.name
}

# --- Self-managed TimescaleDB host -----------------------------------------------------------------

data "aws_iam_policy_document" "db" {
  statement {
    sid       = "AdminSecret"
    actions   = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    resources = [var.db_admin_secret_arn]
  }
  statement {
    sid       = "BackupRepository"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = ["${var.backups_bucket_arn}/pgbackrest/*"]
  }
  statement {
    sid       = "ListBackupRepository"
    actions   = ["s3:ListBucket"]
    resources = [var.backups_bucket_arn]
  }
  statement {
    sid       = "UseTheKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
  }
  statement {
    sid       = "ShipLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
    resources = ["${var.app_log_group_arn}:*"]
  }
}

resource "aws_iam_role" "db" {
  name               = "${var.name}-timescaledb"
  assume_role_policy = data.aws_iam_policy_document.ec2_assume.json
}

resource "aws_iam_role_policy" "db" {
  name   = "timescaledb-host"
  role   = aws_iam_role.db.id
  policy = data.aws_iam_policy_document.db.json
}

resource "aws_iam_role_policy_attachment" "db_ssm" {
  role       = aws_iam_role.db.name
  policy_arn = local.ssm_core
}

resource "aws_iam_instance_profile" "db" {
  name = "${var.name}-timescaledb"
  role = aws_iam_role.db.name
}

# --- Grafana host ---------------------------------------------------------------------------------

data "aws_iam_policy_document" "grafana" {
  statement {
    sid       = "GrafanaSecrets"
    actions   = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    resources = compact([var.grafana_admin_secret_arn, var.db_reader_secret_arn])
  }
  statement {
    sid       = "ReadProvisioning"
    actions   = ["s3:GetObject"]
    resources = ["${var.artifacts_bucket_arn}/grafana/*"]
  }
  statement {
    sid       = "ListProvisioning"
    actions   = ["s3:ListBucket"]
    resources = [var.artifacts_bucket_arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["grafana/*"]
    }
  }
  statement {
    sid       = "UseTheKey"
    actions   = ["kms:Decrypt"]
    resources = [var.kms_key_arn]
  }
  statement {
    sid       = "ShipLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
    resources = ["${var.app_log_group_arn}:*"]
  }
}

resource "aws_iam_role" "grafana" {
  name               = "${var.name}-grafana"
  assume_role_policy = data.aws_iam_policy_document.ec2_assume.json
}

resource "aws_iam_role_policy" "grafana" {
  name   = "grafana-host"
  role   = aws_iam_role.grafana.id
  policy = data.aws_iam_policy_document.grafana.json
}

resource "aws_iam_role_policy_attachment" "grafana_ssm" {
  role       = aws_iam_role.grafana.name
  policy_arn = local.ssm_core
}

resource "aws_iam_instance_profile" "grafana" {
  name = "${var.name}-grafana"
  role = aws_iam_role.grafana.name
}
