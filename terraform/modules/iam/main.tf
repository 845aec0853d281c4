# Instance roles with least privilege and no static keys: every machine gets temporary
# credentials from its instance profile. Each role may read only the secrets and S3 prefixes its
# process needs, write only its own log group, and publish metrics only to the ECGdashboard
# namespace. Shell access is through SSM Session Manager (no SSH keys, no port 22).
#
#   emr_ec2   EMR nodes: the jobs' writer and Kafka credentials, checkpoints, the jobs log group
#   ops       ops host: the database owner (migrations at deploy time) and the role passwords it
#             sets, the Kafka admin and replay credentials, the data bucket (replay), probes
#   db        TimescaleDB host: its owner secret, the pgBackRest repository
#   grafana   Grafana host: its admin secret, the reader password, the SMTP password
# and a managed policy that hospital IT attaches to whoever hands gateway credentials out.

data "aws_partition" "current" {}

locals {
  partition           = data.aws_partition.current.partition
  ssm_core            = "arn:${local.partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"
  gateway_secret_arns = [for k, arn in var.kafka_secret_arns : arn if startswith(k, "gw-")]
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

# --- shared statements ---------------------------------------------------------------------------

# Custom metrics (job restarts, deploy failures, staleness) go to one namespace only.
data "aws_iam_policy_document" "metrics" {
  statement {
    sid       = "PublishEcgdashMetrics"
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"]
    condition {
      test     = "StringEquals"
      variable = "cloudwatch:namespace"
      values   = [var.metric_namespace]
    }
  }
}

# --- EMR nodes: Spark driver and executors of the streaming jobs ----------------------------------

data "aws_iam_policy_document" "emr_ec2" {
  source_policy_documents = [data.aws_iam_policy_document.metrics.json]

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
    sid       = "Checkpoints"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = ["${var.checkpoints_bucket_arn}/*"]
  }
  statement {
    sid       = "ListCheckpoints"
    actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
    resources = [var.checkpoints_bucket_arn]
  }
  statement {
    sid       = "JobSecrets"
    actions   = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    resources = [var.db_writer_secret_arn, var.kafka_secret_arns["jobs"]]
  }
  statement {
    sid       = "UseTheKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
  }
  statement {
    sid       = "ShipLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
    resources = ["${var.log_group_arns["jobs"]}:*"]
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

# --- Ops host --------------------------------------------------------------------------------------

data "aws_iam_policy_document" "ops" {
  source_policy_documents = [data.aws_iam_policy_document.metrics.json]

  statement {
    sid       = "ReadRelease"
    actions   = ["s3:GetObject"]
    resources = ["${var.artifacts_bucket_arn}/releases/*", "${var.artifacts_bucket_arn}/config/*"]
  }
  statement {
    sid       = "ReplayRecords"
    actions   = ["s3:GetObject"]
    resources = ["${var.data_bucket_arn}/*"]
  }
  statement {
    sid       = "ListRecordsAndCheckpoints"
    actions   = ["s3:ListBucket"]
    resources = [var.data_bucket_arn, var.checkpoints_bucket_arn, var.artifacts_bucket_arn]
  }
  statement {
    sid     = "DeploySecrets"
    actions = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    resources = compact([
      var.db_owner_secret_arn,
      var.db_writer_secret_arn,
      var.db_reader_secret_arn,
      var.kafka_secret_arns["ops"],
      lookup(var.kafka_secret_arns, "gw-replay", ""),
    ])
  }
  statement {
    sid       = "UseTheKeys"
    actions   = ["kms:Decrypt"]
    resources = compact([var.kms_key_arn, var.db_owner_secret_kms_key_arn])
  }
  statement {
    sid       = "ShipLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
    resources = ["${var.log_group_arns["ops"]}:*"]
  }
}

resource "aws_iam_role" "ops" {
  name               = "${var.name}-ops"
  assume_role_policy = data.aws_iam_policy_document.ec2_assume.json
}

resource "aws_iam_role_policy" "ops" {
  name   = "ops-host"
  role   = aws_iam_role.ops.id
  policy = data.aws_iam_policy_document.ops.json
}

resource "aws_iam_role_policy_attachment" "ops_ssm" {
  role       = aws_iam_role.ops.name
  policy_arn = local.ssm_core
}

resource "aws_iam_instance_profile" "ops" {
  name = "${var.name}-ops"
  role = aws_iam_role.ops.name
}

# --- Self-managed TimescaleDB host -----------------------------------------------------------------

data "aws_iam_policy_document" "db" {
  statement {
    sid       = "OwnerSecret"
    actions   = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    resources = [var.db_owner_secret_arn]
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
    resources = ["${var.log_group_arns["database"]}:*"]
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
    resources = compact([var.grafana_admin_secret_arn, var.db_reader_secret_arn, var.smtp_password_secret_arn])
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
    resources = ["${var.log_group_arns["grafana"]}:*"]
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

# --- Who may read the hospital gateways' SCRAM credentials ----------------------------------------
# A gateway outside AWS cannot assume a role by itself: hospital IT reads its secret once (console
# or CLI) and configures the gateway. This policy is what they need; it is attached to the roles
# listed in gateway_credential_reader_roles (e.g. the hospital IT SSO permission set's role).

data "aws_iam_policy_document" "gateway_credentials" {
  statement {
    sid       = "ReadGatewayCredentials"
    actions   = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    resources = local.gateway_secret_arns
  }
  statement {
    sid       = "DecryptThroughSecretsManager"
    actions   = ["kms:Decrypt"]
    resources = [var.kms_key_arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["secretsmanager.${data.aws_region.current.region}.amazonaws.com"]
    }
  }
}

data "aws_region" "current" {}

resource "aws_iam_policy" "gateway_credentials" {
  count = length(local.gateway_secret_arns) > 0 ? 1 : 0

  name        = "${var.name}-read-gateway-credentials"
  description = "Read the SASL/SCRAM credentials of the hospital ECG gateways (MSK) to configure them"
  policy      = data.aws_iam_policy_document.gateway_credentials.json
}

resource "aws_iam_role_policy_attachment" "gateway_credentials" {
  for_each = length(local.gateway_secret_arns) > 0 ? toset(var.gateway_credential_reader_roles) : toset([])

  role       = each.value
  policy_arn = aws_iam_policy.gateway_credentials[0].arn
}
