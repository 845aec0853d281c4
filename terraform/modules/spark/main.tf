# One EMR cluster running streaming jobs of the ecgdashboard wheel.
#
# Why EMR, and why the wheel brings its own Spark: the jobs are written for Spark 4
# (pyspark==4.3.0 is a dependency of the wheel; the Kafka source is a Spark 4 Python data source),
# while EMR 7 releases ship Spark 3.5. EMR therefore provides what it is good at -- provisioning,
# YARN, HDFS for checkpoints, node replacement, logs to S3, SSM access -- and each job is the
# wheel's own `ecgdash spark <job>` submitting to YARN in client mode from the primary node with
# the venv's pyspark. No cluster-side Spark or Maven download is involved. Each job is one EMR
# step that never ends (step_concurrency_level = number of jobs); the wrapper restarts a job that
# exits. EMR Serverless or EKS would need a container image or Spark 4 runtime per job; a plain
# EC2 Auto Scaling group would re-implement YARN. Prod runs one cluster per job (the 2018
# fleet's 4 + 4 Spark nodes) so a slow HR batch never delays the raw writer.

data "aws_region" "current" {}

locals {
  bootstrap_prefix = "bootstrap/${var.name}"
  bootstrap_uri    = "s3://${var.artifacts_bucket}/${local.bootstrap_prefix}"
  config_key       = "config/${var.name}/ecgdash.env"
  emr_tag          = { "for-use-with-amazon-emr-managed-policies" = "true" }
  files            = ["emr_bootstrap.sh", "run_streaming_job.sh", "ecgdash_env.py", "create_topics.py"]

  environment = merge(var.app_environment, {
    AWS_REGION            = data.aws_region.current.region
    ECGDASH_BOOTSTRAP_URI = local.bootstrap_uri
    ECGDASH_EXECUTORS     = tostring(var.executors_per_job)
  })
}

resource "aws_s3_object" "files" {
  for_each = toset(local.files)

  bucket      = var.artifacts_bucket
  key         = "${local.bootstrap_prefix}/${each.value}"
  source      = "${path.module}/files/${each.value}"
  source_hash = filemd5("${path.module}/files/${each.value}")
  kms_key_id  = var.kms_key_arn
}

# Non-secret settings only: secrets are read from Secrets Manager by the job wrapper at start.
resource "aws_s3_object" "config" {
  bucket     = var.artifacts_bucket
  key        = local.config_key
  content    = join("\n", [for k in sort(keys(local.environment)) : "${k}=${local.environment[k]}"])
  kms_key_id = var.kms_key_arn
}

# --- Security groups: EMR fills in the rules between its own groups ------------------------------

resource "aws_security_group" "primary" {
  #checkov:skip=CKV2_AWS_5:Attached by EMR through ec2_attributes.emr_managed_master_security_group.
  name                   = "${var.name}-emr-primary"
  description            = "EMR primary node (Spark drivers); EMR manages the rules between cluster groups"
  vpc_id                 = var.vpc_id
  revoke_rules_on_delete = true

  tags = merge(local.emr_tag, { Name = "${var.name}-emr-primary" })
}

resource "aws_security_group" "core" {
  #checkov:skip=CKV2_AWS_5:Attached by EMR through ec2_attributes.emr_managed_slave_security_group.
  name                   = "${var.name}-emr-core"
  description            = "EMR core nodes (Spark executors); EMR manages the rules between cluster groups"
  vpc_id                 = var.vpc_id
  revoke_rules_on_delete = true

  tags = merge(local.emr_tag, { Name = "${var.name}-emr-core" })
}

resource "aws_security_group" "service_access" {
  #checkov:skip=CKV2_AWS_5:Attached by EMR through ec2_attributes.service_access_security_group.
  name                   = "${var.name}-emr-service-access"
  description            = "EMR service access for clusters in private subnets"
  vpc_id                 = var.vpc_id
  revoke_rules_on_delete = true

  tags = merge(local.emr_tag, { Name = "${var.name}-emr-service-access" })
}

resource "aws_emr_security_configuration" "this" {
  name = var.name

  # In transit: the jobs' Spark encrypts its RPC, shuffle and spill itself (spark.authenticate,
  # spark.network.crypto, spark.io.encryption in run_streaming_job.sh); Kafka and PostgreSQL
  # traffic is TLS. EMR's own in-transit option would need a PEM certificate bundle in S3 and
  # covers only EMR-installed applications, which these jobs do not use.
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
  name                              = var.name
  release_label                     = var.release_label
  applications                      = ["Hadoop"]
  service_role                      = var.service_role_arn
  security_configuration            = aws_emr_security_configuration.this.name
  log_uri                           = "s3://${var.artifacts_bucket}/emr-logs/${var.name}/"
  log_encryption_kms_key_id         = var.kms_key_arn
  termination_protection            = var.termination_protection
  keep_job_flow_alive_when_no_steps = true
  step_concurrency_level            = length(var.jobs)
  ebs_root_volume_size              = 32

  ec2_attributes {
    subnet_id                         = var.subnet_id
    instance_profile                  = var.instance_profile_arn
    emr_managed_master_security_group = aws_security_group.primary.id
    emr_managed_slave_security_group  = aws_security_group.core.id
    service_access_security_group     = aws_security_group.service_access.id
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
    name = "install-ecgdashboard-wheel"
    path = "${local.bootstrap_uri}/emr_bootstrap.sh"
    args = ["s3://${var.artifacts_bucket}/${var.wheel_s3_key}"]
  }

  dynamic "step" {
    for_each = var.jobs
    content {
      name              = "ecgdash-${step.value}"
      action_on_failure = "CONTINUE"

      hadoop_jar_step {
        jar = "command-runner.jar"
        args = [
          "bash", "-c",
          "aws s3 cp ${local.bootstrap_uri}/run_streaming_job.sh /tmp/run_${step.value}.sh && exec bash /tmp/run_${step.value}.sh ${step.value} s3://${var.artifacts_bucket}/${local.config_key}",
        ]
      }
    }
  }

  # Steps are submitted once at creation; later job changes are new steps, not a new cluster.
  lifecycle {
    ignore_changes = [step]
  }

  depends_on = [aws_s3_object.files, aws_s3_object.config]
}
