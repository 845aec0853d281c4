# The environment's buckets. All versioned, public access blocked, TLS-only, access-logged,
# with lifecycle rules:
#   data       raw WFDB records and ML exports (Parquet, NumPy, WFDB)      SSE-KMS
#   artifacts  the ecgdashboard wheel, bootstrap scripts, Grafana
#              provisioning, EMR logs                                       SSE-KMS
#   backups    pgBackRest repository of the self-managed TimescaleDB      SSE-KMS
#   checkpoints  Spark structured-streaming checkpoints of the jobs       SSE-KMS
#   audit      CloudTrail                                                 SSE-KMS
#   access-logs  S3 server access logs and ALB logs                       SSE-S3 (see below)

data "aws_caller_identity" "current" {}
data "aws_elb_service_account" "current" {}

locals {
  suffix = data.aws_caller_identity.current.account_id

  # expire_days: current objects are deleted after that many days (null: never).
  # The backups bucket never expires objects: pgBackRest removes what its retention no longer
  # needs (repo1-retention-full), and an age rule would delete archive.info, backup.info and the
  # full backups that later differentials and WAL depend on.
  # Checkpoints are overwritten every trigger; old versions are kept one day only.
  buckets = {
    data        = { expire_days = null, ia_days = var.data_infrequent_access_after_days, noncurrent_days = var.noncurrent_version_retention_days }
    artifacts   = { expire_days = null, ia_days = null, noncurrent_days = var.noncurrent_version_retention_days }
    backups     = { expire_days = null, ia_days = null, noncurrent_days = var.noncurrent_version_retention_days }
    checkpoints = { expire_days = null, ia_days = null, noncurrent_days = 1 }
    audit       = { expire_days = var.audit_retention_days, ia_days = 90, noncurrent_days = var.noncurrent_version_retention_days }
  }
}

resource "aws_s3_bucket" "this" {
  for_each = local.buckets

  #checkov:skip=CKV_AWS_144:Cross-region replication is a per-hospital decision (data residency); enable it per deployment.
  #checkov:skip=CKV2_AWS_62:No consumer of S3 event notifications; the pipeline reads records on demand.
  bucket        = "${var.name}-${each.key}-${local.suffix}"
  force_destroy = var.force_destroy
}

resource "aws_s3_bucket_versioning" "this" {
  for_each = local.buckets

  bucket = aws_s3_bucket.this[each.key].id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  for_each = local.buckets

  bucket = aws_s3_bucket.this[each.key].id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  for_each = local.buckets

  bucket                  = aws_s3_bucket.this[each.key].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "this" {
  for_each = local.buckets

  bucket = aws_s3_bucket.this[each.key].id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_logging" "this" {
  for_each = local.buckets

  bucket        = aws_s3_bucket.this[each.key].id
  target_bucket = aws_s3_bucket.access_logs.id
  target_prefix = "s3/${each.key}/"
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  for_each = local.buckets

  bucket = aws_s3_bucket.this[each.key].id

  rule {
    id     = "housekeeping"
    status = "Enabled"
    filter {}

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }

    noncurrent_version_expiration {
      noncurrent_days = each.value.noncurrent_days
    }

    dynamic "transition" {
      for_each = each.value.ia_days == null ? [] : [each.value.ia_days]
      content {
        days          = transition.value
        storage_class = "STANDARD_IA"
      }
    }

    dynamic "expiration" {
      for_each = each.value.expire_days == null ? [] : [each.value.expire_days]
      content {
        days = expiration.value
      }
    }
  }
}

data "aws_iam_policy_document" "this" {
  for_each = local.buckets

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.this[each.key].arn, "${aws_s3_bucket.this[each.key].arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }

  dynamic "statement" {
    for_each = each.key == "audit" ? ["acl", "write"] : []
    content {
      sid       = statement.value == "acl" ? "CloudTrailAclCheck" : "CloudTrailWrite"
      actions   = statement.value == "acl" ? ["s3:GetBucketAcl"] : ["s3:PutObject"]
      resources = statement.value == "acl" ? [aws_s3_bucket.this[each.key].arn] : ["${aws_s3_bucket.this[each.key].arn}/cloudtrail/AWSLogs/${local.suffix}/*"]
      principals {
        type        = "Service"
        identifiers = ["cloudtrail.amazonaws.com"]
      }
      condition {
        test     = "StringEquals"
        variable = "aws:SourceAccount"
        values   = [local.suffix]
      }
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  for_each = local.buckets

  bucket = aws_s3_bucket.this[each.key].id
  policy = data.aws_iam_policy_document.this[each.key].json

  depends_on = [aws_s3_bucket_public_access_block.this]
}

# --- access-logs: target of S3 server access logging and ALB access logs -------------------------
# S3 server access logging and ALB access logs can only write to SSE-S3 buckets, so this bucket
# cannot use the KMS key. It holds request metadata, no ECG data.

resource "aws_s3_bucket" "access_logs" {
  #checkov:skip=CKV_AWS_145:S3 server access logs and ALB logs only support SSE-S3 target buckets (AWS limitation).
  #checkov:skip=CKV_AWS_18:This is the access-log target itself; logging it into itself would loop.
  #checkov:skip=CKV_AWS_144:Cross-region replication is a per-hospital decision (data residency).
  #checkov:skip=CKV2_AWS_62:No consumer of S3 event notifications for log files.
  bucket        = "${var.name}-access-logs-${local.suffix}"
  force_destroy = var.force_destroy
}

resource "aws_s3_bucket_versioning" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_public_access_block" "access_logs" {
  bucket                  = aws_s3_bucket.access_logs.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id

  rule {
    id     = "expire-logs"
    status = "Enabled"
    filter {}

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }

    expiration {
      days = 365
    }

    noncurrent_version_expiration {
      noncurrent_days = 30
    }
  }
}

data "aws_iam_policy_document" "access_logs" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.access_logs.arn, "${aws_s3_bucket.access_logs.arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }

  statement {
    sid       = "S3ServerAccessLogs"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.access_logs.arn}/s3/*"]
    principals {
      type        = "Service"
      identifiers = ["logging.s3.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.suffix]
    }
  }

  # Regions opened before August 2022 deliver ALB logs from the regional ELB account, newer ones
  # from the log delivery service principal; allow both, limited to the alb/ prefix.
  statement {
    sid       = "AlbAccessLogs"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.access_logs.arn}/alb/AWSLogs/${local.suffix}/*"]
    principals {
      type        = "AWS"
      identifiers = [data.aws_elb_service_account.current.arn]
    }
  }

  statement {
    sid       = "AlbAccessLogsDeliveryService"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.access_logs.arn}/alb/AWSLogs/${local.suffix}/*"]
    principals {
      type        = "Service"
      identifiers = ["logdelivery.elasticloadbalancing.amazonaws.com"]
    }
  }
}

resource "aws_s3_bucket_policy" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id
  policy = data.aws_iam_policy_document.access_logs.json

  depends_on = [aws_s3_bucket_public_access_block.access_logs]
}
