# CloudWatch log groups, the roles that let AWS services write to them, and a multi-region
# CloudTrail trail with S3 data events on the ECG data bucket (who read which patient's records,
# and when). One log group per kind of host, each fed by the CloudWatch agent on those hosts:
#   ops       the ops host: deploy (migrations, topics, ACLs), ingest replay, probes
#   jobs      the EMR primary nodes: the streaming jobs' supervisors (Spark driver output)
#   database  the self-managed TimescaleDB host: PostgreSQL and pgBackRest logs
#   grafana   the Grafana host
# and the ones AWS services write: kafka (MSK broker logs), flow_logs (VPC), cloudtrail.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  log_groups = {
    ops       = "/ecgdashboard/${var.name}/ops"
    jobs      = "/ecgdashboard/${var.name}/jobs"
    database  = "/ecgdashboard/${var.name}/database"
    grafana   = "/ecgdashboard/${var.name}/grafana"
    kafka     = "/ecgdashboard/${var.name}/kafka"
    flow_logs = "/ecgdashboard/${var.name}/vpc-flow-logs"
  }
  trail_name = "${var.name}-trail"
  trail_arn  = "arn:${data.aws_partition.current.partition}:cloudtrail:${data.aws_region.current.region}:${data.aws_caller_identity.current.account_id}:trail/${local.trail_name}"
}

resource "aws_cloudwatch_log_group" "this" {
  for_each = local.log_groups

  name              = each.value
  retention_in_days = var.retention_in_days
  kms_key_id        = var.kms_key_arn
}

resource "aws_cloudwatch_log_group" "cloudtrail" {
  name              = "/ecgdashboard/${var.name}/cloudtrail"
  retention_in_days = var.retention_in_days
  kms_key_id        = var.kms_key_arn
}

# --- VPC flow logs -> CloudWatch ---------------------------------------------------------------

data "aws_iam_policy_document" "flow_logs_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["vpc-flow-logs.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

data "aws_iam_policy_document" "flow_logs" {
  statement {
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
    resources = ["${aws_cloudwatch_log_group.this["flow_logs"].arn}:*"]
  }
}

resource "aws_iam_role" "flow_logs" {
  name               = "${var.name}-vpc-flow-logs"
  assume_role_policy = data.aws_iam_policy_document.flow_logs_assume.json
}

resource "aws_iam_role_policy" "flow_logs" {
  name   = "write-flow-log-group"
  role   = aws_iam_role.flow_logs.id
  policy = data.aws_iam_policy_document.flow_logs.json
}

# --- CloudTrail ----------------------------------------------------------------------------------

data "aws_iam_policy_document" "cloudtrail_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["cloudtrail.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "cloudtrail" {
  statement {
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.cloudtrail.arn}:*"]
  }
}

resource "aws_iam_role" "cloudtrail" {
  count = var.create_cloudtrail ? 1 : 0

  name               = "${var.name}-cloudtrail"
  assume_role_policy = data.aws_iam_policy_document.cloudtrail_assume.json
}

resource "aws_iam_role_policy" "cloudtrail" {
  count = var.create_cloudtrail ? 1 : 0

  name   = "write-cloudtrail-log-group"
  role   = aws_iam_role.cloudtrail[0].id
  policy = data.aws_iam_policy_document.cloudtrail.json
}

resource "aws_sns_topic" "cloudtrail" {
  count = var.create_cloudtrail ? 1 : 0

  name              = "${var.name}-cloudtrail"
  kms_master_key_id = var.kms_key_arn
}

data "aws_iam_policy_document" "cloudtrail_topic" {
  statement {
    sid       = "CloudTrailPublishes"
    actions   = ["sns:Publish"]
    resources = aws_sns_topic.cloudtrail[*].arn
    principals {
      type        = "Service"
      identifiers = ["cloudtrail.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceArn"
      values   = [local.trail_arn]
    }
  }
}

resource "aws_sns_topic_policy" "cloudtrail" {
  count = var.create_cloudtrail ? 1 : 0

  arn    = aws_sns_topic.cloudtrail[0].arn
  policy = data.aws_iam_policy_document.cloudtrail_topic.json
}

resource "aws_cloudtrail" "this" {
  count = var.create_cloudtrail ? 1 : 0

  name                          = local.trail_name
  s3_bucket_name                = var.audit_bucket_name
  s3_key_prefix                 = "cloudtrail"
  is_multi_region_trail         = true
  include_global_service_events = true
  enable_log_file_validation    = true
  kms_key_id                    = var.kms_key_arn
  sns_topic_name                = aws_sns_topic.cloudtrail[0].name
  cloud_watch_logs_group_arn    = "${aws_cloudwatch_log_group.cloudtrail.arn}:*"
  cloud_watch_logs_role_arn     = aws_iam_role.cloudtrail[0].arn

  event_selector {
    read_write_type           = "All"
    include_management_events = true

    data_resource {
      type   = "AWS::S3::Object"
      values = ["${var.data_bucket_arn}/"]
    }
  }

  depends_on = [aws_sns_topic_policy.cloudtrail, aws_iam_role_policy.cloudtrail]
}
