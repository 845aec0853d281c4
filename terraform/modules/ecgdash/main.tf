# ECGdashboard on AWS: the whole path from the hospital's ECG gateways to the ward wall, composed
# from the modules beside this one. envs/dev and envs/prod call it with their sizes; a hospital's
# own environment is one more caller (see terraform/README.md).
#
#   gateways --(VPN / TGW / DX, SASL/SCRAM)--> MSK --> EMR: raw-writer, alarm-job --> database
#   ops host: deploy-time migrations, topics, ACLs; demo replay; staleness probe         |
#   Grafana (internal ALB, hospital networks only) <-------------------------------------+
#   CloudWatch: every host's logs, alarms on staleness, lag, restarts, deploys -> SNS

locals {
  name = "ecgdashboard-${var.environment}"

  topic     = "ecg.waveform"
  dlq_topic = "ecg.waveform.dlq"
  # Streaming query of each job (`ecgdash spark <job>`): its checkpoint folder under
  # ECG_CHECKPOINT_DIR and its lag-monitoring consumer group ecgdash.<query>.
  queries = { "raw-writer" = "raw_writer", "alarm-job" = "alarm_job", "hr-job" = "hr_job" }
  # job -> the cluster that runs it
  job_cluster = merge([for c, spec in var.spark_clusters : { for j in spec.jobs : j => c }]...)
  # The alarm job stores the beats, RR, heart rate and quality its detector finds
  # (ECG_ALARM_WRITES_BEATS) unless the heart-rate job runs beside it to store them instead.
  alarm_writes_beats = !contains(keys(local.job_cluster), "hr-job")

  replay_enabled = var.replay != null
  gateways       = concat(var.gateways, local.replay_enabled ? ["replay"] : [])
  ec2_hosts      = concat(var.database.mode == "ec2" ? ["database"] : [], var.grafana.mode == "ec2" ? ["grafana"] : [])

  # Non-secret settings of the ecgdash CLI (ecgdash.settings, prefix ECG_) shared by the jobs and
  # the ops host; credentials are read from Secrets Manager on the hosts.
  app_settings = merge({
    ECG_DB_MODE         = "external"
    ECG_DB_HOST         = module.timescaledb.host
    ECG_DB_PORT         = tostring(module.timescaledb.port)
    ECG_DB_NAME         = module.timescaledb.database_name
    ECG_RETENTION_DAYS  = tostring(var.waveform_retention_days)
    ECG_KAFKA_BOOTSTRAP = module.kafka.bootstrap_brokers_sasl_scram
    ECG_TOPIC           = local.topic
    ECG_DLQ_TOPIC       = local.dlq_topic
    ECG_PARTITIONS      = tostring(var.kafka.partitions)
    ECG_KAFKA_FORMAT    = "ecgkafka"
    # from spark_clusters only (app_settings may not set it): the beats are stored by one job
    ECG_ALARM_WRITES_BEATS = tostring(local.alarm_writes_beats)
  }, var.app_settings)
}

data "aws_region" "current" {}

module "kms" {
  source = "../kms"

  name = local.name
}

module "s3" {
  source = "../s3"

  name        = local.name
  kms_key_arn = module.kms.key_arn
}

module "logs" {
  source = "../logs"

  name              = local.name
  kms_key_arn       = module.kms.key_arn
  retention_in_days = var.log_retention_days
  create_cloudtrail = var.create_cloudtrail
  audit_bucket_name = module.s3.bucket_names["audit"]
  data_bucket_arn   = module.s3.bucket_arns["data"]
}

module "network" {
  source = "../network"

  name                     = local.name
  cidr                     = var.vpc_cidr
  azs                      = var.azs
  single_nat_gateway       = var.single_nat_gateway
  hospital_network         = var.hospital_network
  flow_log_destination_arn = module.logs.log_group_arns["flow_logs"]
  flow_log_iam_role_arn    = module.logs.flow_log_iam_role_arn
}

# Every workload group and rule, handed out only once all rules exist.
module "security_groups" {
  source = "../security_groups"

  name           = local.name
  vpc_id         = module.network.vpc_id
  producer_cidrs = var.gateway_cidrs
  hospital_cidrs = var.hospital_network.cidrs
  database_cidrs = var.database.mode == "external" ? var.database.external_cidrs : []
  smtp_port      = var.grafana.smtp.port
}

module "iam" {
  source = "../iam"

  name                            = local.name
  kms_key_arn                     = module.kms.key_arn
  artifacts_bucket_arn            = module.s3.bucket_arns["artifacts"]
  data_bucket_arn                 = module.s3.bucket_arns["data"]
  checkpoints_bucket_arn          = module.s3.bucket_arns["checkpoints"]
  backups_bucket_arn              = module.s3.bucket_arns["backups"]
  log_group_arns                  = module.logs.log_group_arns
  metric_namespace                = var.metric_namespace
  db_owner_secret_arn             = module.timescaledb.owner_secret_arn
  db_owner_secret_kms_key_arn     = module.timescaledb.owner_secret_kms_key_arn
  db_writer_secret_arn            = module.timescaledb.writer_secret_arn
  db_reader_secret_arn            = module.timescaledb.reader_secret_arn
  kafka_secret_arns               = module.kafka.secret_arns
  grafana_admin_secret_arn        = module.grafana.admin_secret_arn
  smtp_password_secret_arn        = var.grafana.smtp.password_secret_arn
  gateway_credential_reader_roles = var.gateway_credential_reader_roles
}

module "kafka" {
  source = "../kafka"

  name                = local.name
  subnet_ids          = module.network.private_subnet_ids
  security_group_id   = module.security_groups.ids["msk"]
  kms_key_arn         = module.kms.key_arn
  log_group_name      = module.logs.log_group_names["kafka"]
  broker_count        = var.kafka.broker_count
  instance_type       = var.kafka.instance_type
  volume_size_gb      = var.kafka.volume_size_gb
  replication_factor  = var.kafka.replication_factor
  partitions          = var.kafka.partitions
  enhanced_monitoring = var.kafka.enhanced_monitoring
  retention_hours     = var.kafka.retention_hours
  topic               = local.topic
  dlq_topic           = local.dlq_topic
  gateways            = local.gateways
}

module "timescaledb" {
  source = "../timescaledb"

  name                    = local.name
  mode                    = var.database.mode
  external                = var.database.external
  vpc_cidr                = module.network.vpc_cidr
  subnet_ids              = module.network.private_subnet_ids
  security_group_id       = module.security_groups.ids["db"]
  log_group_name          = module.logs.log_group_names["database"]
  kms_key_arn             = module.kms.key_arn
  instance_type           = var.database.instance_type
  data_volume_size_gb     = var.database.volume_size_gb
  data_volume_iops        = var.database.data_volume_iops
  instance_profile_name   = module.iam.db_instance_profile_name
  backups_bucket          = module.s3.bucket_names["backups"]
  backup_retention_days   = var.database.backup_retention_days
  snapshot_retention_days = var.database.snapshot_retention_days
  rds_instance_class      = var.database.rds_instance_class
  rds_multi_az            = var.database.rds_multi_az
  deletion_protection     = var.deletion_protection
}

module "spark" {
  source   = "../spark"
  for_each = var.spark_clusters

  name                   = "${local.name}-${each.key}"
  environment            = var.environment
  jobs                   = each.value.jobs
  subnet_id              = module.network.private_subnet_ids[0]
  primary_instance_type  = each.value.primary_instance_type
  core_instance_type     = each.value.core_instance_type
  core_instance_count    = each.value.core_instance_count
  executors_per_job      = each.value.executors_per_job
  service_role_arn       = module.iam.emr_service_role_arn
  instance_profile_arn   = module.iam.emr_instance_profile_arn
  kms_key_arn            = module.kms.key_arn
  artifacts_bucket       = module.s3.bucket_names["artifacts"]
  checkpoints_bucket     = module.s3.bucket_names["checkpoints"]
  log_group_name         = module.logs.log_group_names["jobs"]
  metric_namespace       = var.metric_namespace
  wheel_s3_key           = "releases/ecgdashboard-${var.app_version}-py3-none-any.whl"
  db_writer_secret_arn   = module.timescaledb.writer_secret_arn
  kafka_secret_arn       = module.kafka.secret_arns["jobs"]
  replication_factor     = module.kafka.replication_factor
  app_environment        = local.app_settings
  termination_protection = var.deletion_protection

  security_group_ids = {
    primary        = module.security_groups.ids["emr_primary"]
    core           = module.security_groups.ids["emr_core"]
    service_access = module.security_groups.ids["emr_service_access"]
  }
}

module "ops" {
  source = "../ops"

  name                 = local.name
  subnet_ids           = module.network.private_subnet_ids
  security_group_id    = module.security_groups.ids["ops"]
  instance_profile_arn = module.iam.ops_instance_profile_arn
  instance_type        = var.ops_instance_type
  log_group_name       = module.logs.log_group_names["ops"]
  acl_spec             = module.kafka.acl_spec

  settings = merge(local.app_settings, {
    AWS_REGION                 = data.aws_region.current.region
    ECGDASH_ENVIRONMENT        = var.environment
    ECGDASH_METRIC_NAMESPACE   = var.metric_namespace
    ECGDASH_WHEEL_URI          = "s3://${module.s3.bucket_names["artifacts"]}/releases/ecgdashboard-${var.app_version}-py3-none-any.whl"
    ECGDASH_REPLICATION_FACTOR = tostring(module.kafka.replication_factor)
    ECGDASH_REPLAY_SOURCE      = local.replay_enabled ? "s3://${module.s3.bucket_names["data"]}/${var.replay.prefix}" : ""
    ECGDASH_REPLAY_ARGS        = local.replay_enabled ? var.replay.args : ""
    # job=s3://<checkpoints>/<cluster>/<job>/<query>/commits/: Spark writes one object per batch
    ECGDASH_PROBES = join(" ", [
      for job, cluster in local.job_cluster :
      "${job}=s3://${module.s3.bucket_names["checkpoints"]}/${module.spark[cluster].checkpoint_prefix}/${job}/${local.queries[job]}/commits/"
    ])
    SECRET_ARN_DB_OWNER         = module.timescaledb.owner_secret_arn
    SECRET_ARN_DB_WRITER        = module.timescaledb.writer_secret_arn
    SECRET_ARN_DB_READER        = module.timescaledb.reader_secret_arn
    SECRET_ARN_KAFKA_ADMIN      = module.kafka.secret_arns["ops"]
    SECRET_ARN_KAFKA_REPLAY     = local.replay_enabled ? module.kafka.secret_arns["gw-replay"] : ""
    ECG_KAFKA_SECURITY_PROTOCOL = "SASL_SSL"
    ECG_KAFKA_SASL_MECHANISM    = "SCRAM-SHA-512"
  })
}

module "grafana" {
  source = "../grafana"

  name                    = local.name
  mode                    = var.grafana.mode
  vpc_id                  = module.network.vpc_id
  subnet_ids              = module.network.private_subnet_ids
  security_group_id       = module.security_groups.ids["grafana"]
  alb_security_group_id   = module.security_groups.ids["grafana_alb"]
  certificate_arn         = var.grafana.certificate_arn
  instance_type           = var.grafana.instance_type
  grafana_version         = var.grafana.version
  managed_grafana_version = var.grafana.managed_version
  instance_profile_name   = module.iam.grafana_instance_profile_name
  kms_key_arn             = module.kms.key_arn
  artifacts_bucket        = module.s3.bucket_names["artifacts"]
  access_logs_bucket      = module.s3.bucket_names["access_logs"]
  log_group_name          = module.logs.log_group_names["grafana"]
  provisioning_dir        = coalesce(var.grafana_provisioning_dir, "${path.module}/../../../grafana/provisioning")
  db_host                 = module.timescaledb.host
  db_port                 = module.timescaledb.port
  db_name                 = module.timescaledb.database_name
  db_reader_secret_arn    = module.timescaledb.reader_secret_arn
  timescaledb             = module.timescaledb.timescaledb
  alert_emails            = var.grafana.alert_emails
  alert_webhook_url       = var.grafana.alert_webhook_url
  smtp                    = var.grafana.smtp
  min_refresh_interval    = var.grafana.min_refresh_interval
  deletion_protection     = var.deletion_protection
}

module "alarms" {
  source = "../alarms"

  name              = local.name
  environment       = var.environment
  kms_key_arn       = module.kms.key_arn
  emails            = var.alarm_emails
  metric_namespace  = var.metric_namespace
  topic             = local.topic
  msk_cluster_name  = module.kafka.cluster_name
  lag_alarm_seconds = var.lag_alarm_seconds
  emr_cluster_ids   = [for m in module.spark : m.cluster_id]

  jobs = {
    for job in keys(local.job_cluster) : job => {
      consumer_group      = "ecgdash.${local.queries[job]}"
      stale_after_seconds = var.stale_after_seconds[job]
    }
  }

  instances = {
    for k, id in { database = module.timescaledb.instance_id, grafana = module.grafana.instance_id } : k => id
    if contains(local.ec2_hosts, k)
  }

  grafana_target = var.grafana.mode == "ec2" ? {
    load_balancer = module.grafana.load_balancer_arn_suffix
    target_group  = module.grafana.target_group_arn_suffix
  } : null
}
