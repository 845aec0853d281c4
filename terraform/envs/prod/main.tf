# ECGdashboard prod: the composition in ../../modules/ecgdash with the 2018 fleet's shape on
# current instance types (4 brokers, 4 + 4 Spark nodes, one database, one UI host), no replay.
# Site-specific values (region, networks, people) come from terraform.tfvars.

provider "aws" {
  region = var.region

  # Every taggable resource carries these; AWS Config / SCPs can require them.
  default_tags {
    tags = {
      Project            = "ECGdashboard"
      Environment        = "prod"
      Owner              = var.owner
      DataClassification = var.data_classification
      ManagedBy          = "terraform"
    }
  }
}

module "ecgdash" {
  source = "../../modules/ecgdash"

  environment        = "prod"
  azs                = var.azs
  vpc_cidr           = "10.40.0.0/16"
  single_nat_gateway = false

  hospital_network                = var.hospital_network
  gateways                        = var.gateways
  gateway_cidrs                   = var.gateway_cidrs
  gateway_credential_reader_roles = var.gateway_credential_reader_roles
  alarm_emails                    = var.alarm_emails
  app_version                     = var.app_version

  kafka = {
    broker_count        = 4
    instance_type       = "kafka.m7g.large"
    volume_size_gb      = 500
    replication_factor  = 3
    partitions          = 12
    enhanced_monitoring = "PER_BROKER"
  }

  # one cluster per job, so a slow alarm batch (detector + alarm engine per patient) never
  # delays the raw writer, and a raw-writer failure never silences the alarms
  spark_clusters = {
    raw-writer = {
      jobs                  = ["raw-writer"]
      primary_instance_type = "m6i.xlarge"
      core_instance_type    = "m6i.xlarge"
      core_instance_count   = 3
      executors_per_job     = 3
    }
    alarm-job = {
      jobs                  = ["alarm-job"]
      primary_instance_type = "m6i.xlarge"
      core_instance_type    = "m6i.xlarge"
      core_instance_count   = 3
      executors_per_job     = 3
    }
  }

  database = {
    mode                  = var.database_mode
    external              = var.external_database
    instance_type         = "m7i.large"
    volume_size_gb        = 500
    rds_instance_class    = "db.m7g.large"
    rds_multi_az          = true
    backup_retention_days = 35
  }

  grafana = {
    instance_type     = "t3.small"
    certificate_arn   = var.grafana_certificate_arn
    alert_emails      = var.alert_emails
    alert_webhook_url = var.alert_webhook_url
    smtp              = var.smtp
  }

  ops_instance_type       = "t3.small"
  waveform_retention_days = 30
}
