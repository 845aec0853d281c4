# One EMR cluster running streaming jobs of the ecgdashboard wheel.
#
# Why EMR, and why the wheel brings its own Spark: the jobs are written for Spark 4
# (pyspark==4.3.0 is a dependency of the wheel; the Kafka source is a Spark 4 Python data source),
# while EMR 7 releases ship Spark 3.5. EMR therefore provides what it is good at -- provisioning,
# YARN, node replacement, logs to S3, SSM access -- and each job is the wheel's own
# `ecgdash spark <job>` submitting to YARN in client mode from the primary node with the venv's
# pyspark. EMR Serverless or EKS would need a container image or Spark 4 runtime per job; a plain
# EC2 Auto Scaling group would re-implement YARN. Prod runs one cluster per job (the 2018 fleet's
# 4 + 4 Spark nodes) so a slow alarm batch never delays the raw writer, nor the other way round.
#
# How a job runs: not as an EMR step (a step runs once; a failed one is never resubmitted), but
# as a systemd unit on the primary node that the bootstrap action installs
# (files/ecgdash-job@.service): its supervisor waits for YARN, creates the topics if missing, runs
# the job and retries anything that fails with backoff, publishing a JobRestarts metric.
# Checkpoints are on S3 (checkpoints bucket, S3A), so a replaced cluster resumes where the old one
# stopped. The security groups come from modules/security_groups with every rule in place.

data "aws_region" "current" {}

locals {
  files_prefix = "bootstrap/${var.name}"
  files_uri    = "s3://${var.artifacts_bucket}/${local.files_prefix}"
  config_key   = "config/${var.name}/ecgdash.env"
  files        = ["emr_bootstrap.sh", "ecgdash-job-supervisor.sh", "ecgdash-env.sh", "ecgdash-job@.service"]

  # Non-secret settings of the jobs (ECG_*, read by the ecgdash CLI) and of the supervisor
  # (ECGDASH_*); the secrets are named by ARN and read at every start.
  environment = merge(var.app_environment, {
    AWS_REGION                  = data.aws_region.current.region
    ECG_SPARK_MASTER            = "yarn"
    ECG_KAFKA_SECURITY_PROTOCOL = "SASL_SSL"
    ECG_KAFKA_SASL_MECHANISM    = "SCRAM-SHA-512"
    ECGDASH_JOBS                = join(" ", var.jobs)
    ECGDASH_ENVIRONMENT         = var.environment
    ECGDASH_EXECUTORS           = tostring(var.executors_per_job)
    ECGDASH_REPLICATION_FACTOR  = tostring(var.replication_factor)
    ECGDASH_CHECKPOINT_URI      = "s3a://${var.checkpoints_bucket}/${var.name}"
    ECGDASH_LOG_GROUP           = var.log_group_name
    ECGDASH_METRIC_NAMESPACE    = var.metric_namespace
    SECRET_ARN_DB_WRITER        = var.db_writer_secret_arn
    SECRET_ARN_KAFKA            = var.kafka_secret_arn
  })
}

resource "aws_s3_object" "files" {
  for_each = toset(local.files)

  bucket      = var.artifacts_bucket
  key         = "${local.files_prefix}/${each.value}"
  source      = "${path.module}/files/${each.value}"
  source_hash = filemd5("${path.module}/files/${each.value}")
  kms_key_id  = var.kms_key_arn
}

# Non-secret settings only: secrets are read from Secrets Manager by the supervisor at each start.
# Sourced by bash: one NAME='value' per line (ECGDASH_JOBS holds a space).
resource "aws_s3_object" "config" {
  bucket     = var.artifacts_bucket
  key        = local.config_key
  content    = join("\n", [for k in sort(keys(local.environment)) : "${k}='${local.environment[k]}'"])
  kms_key_id = var.kms_key_arn
}

resource "aws_emr_security_configuration" "this" {
  name = var.name

  # In transit: the jobs' Spark encrypts its RPC, shuffle and spill itself (spark.authenticate,
  # spark.network.crypto, spark.io.encryption in the supervisor); Kafka and PostgreSQL traffic
  # is TLS. EMR's own in-transit option would need a PEM certificate bundle in S3 and covers
  # only EMR-installed applications, which these jobs do not use.
  configuration = jsonencode({
    EncryptionConfiguration = {
      EnableAtRestEncryption    = true
      EnableInTransitEncryption = false
      AtRestEncryptionConfiguration = {
        S3EncryptionConfiguration = { EncryptionMode = "SSE-KMS", AwsKmsKey = var.kms_key_arn }
        LocalDiskEncryptionConfiguration = {
          EncryptionKeyProviderType = "AwsKms"
          AwsKmsKey                 = var.kms_key_arn
          EnableEbsEncryption       = true
        }
      }
    }
    InstanceMetadataServiceConfiguration = {
      MinimumInstanceMetadataServiceVersion = 2
      HttpPutResponseHopLimit               = 2
    }
  })
}

resource "aws_emr_cluster" "this" {
  #checkov:skip=CKV2_AWS_7:The EMR groups live in modules/security_groups, where no group admits any CIDR but the brokers (hospital gateways) and the load balancer (hospital users); tests/terraform checks it.
  name                              = var.name
  release_label                     = var.release_label
  applications                      = ["Hadoop"]
  service_role                      = var.service_role_arn
  security_configuration            = aws_emr_security_configuration.this.name
  log_uri                           = "s3://${var.artifacts_bucket}/emr-logs/${var.name}/"
  log_encryption_kms_key_id         = var.kms_key_arn
  termination_protection            = var.termination_protection
  keep_job_flow_alive_when_no_steps = true
  ebs_root_volume_size              = 32

  ec2_attributes {
    subnet_id                         = var.subnet_id
    instance_profile                  = var.instance_profile_arn
    emr_managed_master_security_group = var.security_group_ids.primary
    emr_managed_slave_security_group  = var.security_group_ids.core
    service_access_security_group     = var.security_group_ids.service_access
  }

  master_instance_group {
    instance_type = var.primary_instance_type

    ebs_config {
      size                 = var.ebs_size_gb
      type                 = "gp3"
      volumes_per_instance = 1
    }
  }

  dynamic "core_instance_group" {
    for_each = var.core_instance_count > 0 ? [var.core_instance_count] : []
    content {
      instance_type  = var.core_instance_type
      instance_count = core_instance_group.value

      ebs_config {
        size                 = var.ebs_size_gb
        type                 = "gp3"
        volumes_per_instance = 1
      }
    }
  }

  bootstrap_action {
    name = "install-ecgdashboard-and-job-supervisors"
    path = "${local.files_uri}/emr_bootstrap.sh"
    args = [
      "s3://${var.artifacts_bucket}/${var.wheel_s3_key}",
      local.files_uri,
      "s3://${var.artifacts_bucket}/${local.config_key}",
    ]
  }

  depends_on = [aws_s3_object.files, aws_s3_object.config]
}
