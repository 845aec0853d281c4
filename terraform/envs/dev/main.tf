# ECGdashboard on AWS: one environment, composed from ../../modules.
# envs/dev and envs/prod share this file; they differ only in variables.tf defaults.

provider "aws" {
  region = var.region

  # Every taggable resource carries these; AWS Config / SCPs can require them.
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

# Used only when database_mode = "timescale_cloud"; pass credentials with TF_VAR_* (never commit).
provider "timescale" {
  project_id = var.timescale_project_id
  access_key = var.timescale_access_key
  secret_key = var.timescale_secret_key
}

locals {
  name = "ecgdashboard-${var.environment}"

  # Static keys (for_each) for every security group that may reach the brokers and the database.
  spark_security_groups = merge(
    { for k, m in module.spark : "spark-${k}-primary" => m.primary_security_group_id },
    { for k, m in module.spark : "spark-${k}-core" => m.core_security_group_id },
  )
}

module "kms" {
  source = "../../modules/kms"

  name = local.name
}

module "s3" {
  source = "../../modules/s3"

  name                  = local.name
  kms_key_arn           = module.kms.key_arn
  backup_retention_days = var.backup_retention_days
}

module "logs" {
  source = "../../modules/logs"

  name              = local.name
  kms_key_arn       = module.kms.key_arn
  retention_in_days = var.log_retention_days
  create_cloudtrail = var.create_cloudtrail
  audit_bucket_name = module.s3.bucket_names["audit"]
  data_bucket_arn   = module.s3.bucket_arns["data"]
}

module "network" {
  source = "../../modules/network"

  name                     = local.name
  cidr                     = var.vpc_cidr
  azs                      = var.azs
  single_nat_gateway       = var.single_nat_gateway
  flow_log_destination_arn = module.logs.log_group_arns["flow_logs"]
  flow_log_iam_role_arn    = module.logs.flow_log_iam_role_arn
}

module "iam" {
  source = "../../modules/iam"

  name                     = local.name
  kms_key_arn              = module.kms.key_arn
  artifacts_bucket_arn     = module.s3.bucket_arns["artifacts"]
  backups_bucket_arn       = module.s3.bucket_arns["backups"]
  app_log_group_arn        = module.logs.log_group_arns["app"]
  db_admin_secret_arn      = module.timescaledb.admin_secret_arn
  db_writer_secret_arn     = module.timescaledb.writer_secret_arn
  db_reader_secret_arn     = module.timescaledb.reader_secret_arn
  kafka_secret_arn         = module.kafka.scram_secret_arn
  grafana_admin_secret_arn = module.grafana.admin_secret_arn
}

module "kafka" {
  source = "../../modules/kafka"

  name                      = local.name
  vpc_id                    = module.network.vpc_id
  subnet_ids                = module.network.private_subnet_ids
  kms_key_arn               = module.kms.key_arn
  log_group_name            = module.logs.log_group_names["kafka"]
  broker_count              = var.kafka_broker_count
  instance_type             = var.kafka_instance_type
  volume_size_gb            = var.kafka_volume_size_gb
  replication_factor        = var.kafka_replication_factor
  partitions                = var.kafka_partitions
  enhanced_monitoring       = var.kafka_enhanced_monitoring
  client_security_group_ids = local.spark_security_groups
  client_cidrs              = var.producer_cidrs
}

module "timescaledb" {
  source = "../../modules/timescaledb"

  name                  = local.name
  mode                  = var.database_mode
  vpc_id                = module.network.vpc_id
  vpc_cidr              = module.network.vpc_cidr
  subnet_ids            = module.network.private_subnet_ids
  kms_key_arn           = module.kms.key_arn
  instance_type         = var.db_instance_type
  data_volume_size_gb   = var.db_volume_size_gb
  instance_profile_name = module.iam.db_instance_profile_name
  backups_bucket        = module.s3.bucket_names["backups"]
  rds_instance_class    = var.rds_instance_class
  rds_multi_az          = var.rds_multi_az
  timescale_region_code = var.region
  deletion_protection   = true

  client_security_group_ids = merge(local.spark_security_groups, { grafana = module.grafana.security_group_id })
}

module "spark" {
  source   = "../../modules/spark"
  for_each = var.spark_clusters

  name                   = "${local.name}-${each.key}"
  jobs                   = each.value.jobs
  vpc_id                 = module.network.vpc_id
  subnet_id              = module.network.private_subnet_ids[0]
  primary_instance_type  = each.value.primary_instance_type
  core_instance_type     = each.value.core_instance_type
  core_instance_count    = each.value.core_instance_count
  executors_per_job      = each.value.executors_per_job
  service_role_arn       = module.iam.emr_service_role_arn
  instance_profile_arn   = module.iam.emr_instance_profile_arn
  kms_key_arn            = module.kms.key_arn
  artifacts_bucket       = module.s3.bucket_names["artifacts"]
  wheel_s3_key           = "releases/ecgdashboard-${var.app_version}-py3-none-any.whl"
  termination_protection = true

  # Non-secret settings of the jobs (ecgdash.settings.Settings, prefix ECG_) and where the
  # wrapper finds the secrets.
  app_environment = {
    ECG_DB_MODE                  = "external"
    ECG_DB_HOST                  = module.timescaledb.host
    ECG_DB_PORT                  = tostring(module.timescaledb.port)
    ECG_DB_NAME                  = module.timescaledb.database_name
    ECG_RETENTION_DAYS           = tostring(var.waveform_retention_days)
    ECG_KAFKA_BOOTSTRAP          = module.kafka.bootstrap_brokers_sasl_scram
    ECG_TOPIC                    = "ecg.waveform"
    ECG_DLQ_TOPIC                = "ecg.waveform.dlq"
    ECG_PARTITIONS               = tostring(var.kafka_partitions)
    ECG_KAFKA_REPLICATION_FACTOR = tostring(module.kafka.replication_factor)
    ECG_KAFKA_FORMAT             = "ecgkafka"
    SECRET_ARN_DB_ADMIN          = module.timescaledb.admin_secret_arn
    SECRET_ARN_DB_WRITER         = module.timescaledb.writer_secret_arn
    SECRET_ARN_DB_READER         = module.timescaledb.reader_secret_arn
    SECRET_ARN_KAFKA             = module.kafka.scram_secret_arn
  }
}

module "grafana" {
  source = "../../modules/grafana"

  name                  = local.name
  mode                  = var.grafana_mode
  vpc_id                = module.network.vpc_id
  subnet_ids            = module.network.private_subnet_ids
  allowed_cidrs         = var.hospital_cidrs
  certificate_arn       = var.grafana_certificate_arn
  instance_type         = var.grafana_instance_type
  instance_profile_name = module.iam.grafana_instance_profile_name
  kms_key_arn           = module.kms.key_arn
  artifacts_bucket      = module.s3.bucket_names["artifacts"]
  access_logs_bucket    = module.s3.bucket_names["access_logs"]
  provisioning_dir      = "${path.root}/../../../grafana/provisioning"
  db_host               = module.timescaledb.host
  db_port               = module.timescaledb.port
  db_name               = module.timescaledb.database_name
  db_reader_secret_arn  = module.timescaledb.reader_secret_arn
  db_egress_cidr        = var.database_mode == "timescale_cloud" ? "0.0.0.0/0" : null
  timescaledb           = module.timescaledb.timescaledb
  deletion_protection   = true
}
