# ECGdashboard dev: the composition in ../../modules/ecgdash with small sizes and a demo replay.
# Site-specific values (region, networks, people) come from terraform.tfvars.

provider "aws" {
  region = var.region

  # Every taggable resource carries these; AWS Config / SCPs can require them.
  default_tags {
    tags = {
      Project            = "ECGdashboard"
      Environment        = "dev"
      Owner              = var.owner
      DataClassification = var.data_classification
      ManagedBy          = "terraform"
    }
  }
}

module "ecgdash" {
  source = "../../modules/ecgdash"

  environment        = "dev"
  azs                = var.azs
  vpc_cidr           = "10.41.0.0/16"
  single_nat_gateway = true

  hospital_network                = var.hospital_network
  gateways                        = var.gateways
  gateway_cidrs                   = var.gateway_cidrs
  gateway_credential_reader_roles = var.gateway_credential_reader_roles
  alarm_emails                    = var.alarm_emails
  app_version                     = var.app_version

  # MIT-BIH records uploaded to s3://<data bucket>/wfdb/mitdb/, replayed in a loop
  replay = { prefix = "wfdb/mitdb" }

  kafka = {
    broker_count        = 2
    instance_type       = "kafka.t3.small"
    volume_size_gb      = 50
    replication_factor  = 2
    partitions          = 4
    enhanced_monitoring = "DEFAULT"
  }

  # one single-node cluster runs both jobs (the alarm job stores the beats too: no hr-job)
  spark_clusters = {
    streaming = {
      jobs                  = ["raw-writer", "alarm-job"]
      primary_instance_type = "m6i.xlarge"
      core_instance_type    = "m6i.xlarge"
      core_instance_count   = 0
      executors_per_job     = 1
    }
  }

  database = {
    mode                  = var.database_mode
    external              = var.external_database
    instance_type         = "t3.medium"
    volume_size_gb        = 50
    rds_instance_class    = "db.t4g.medium"
    rds_multi_az          = false
    backup_retention_days = 7
  }

  grafana = {
    instance_type     = "t3.small"
    certificate_arn   = var.grafana_certificate_arn
    alert_emails      = var.alert_emails
    alert_webhook_url = var.alert_webhook_url
    smtp              = var.smtp
  }

  ops_instance_type       = "t3.small"
  waveform_retention_days = 7
}
