# Amazon MSK: brokers in private subnets, TLS between clients and brokers and between brokers,
# storage encrypted with the environment's KMS key, SASL/SCRAM (+ IAM) authentication and no
# unauthenticated access. Topics are not auto-created: `ecg.waveform` (keyed by patient) and
# `ecg.waveform.dlq` are created by the job wrapper on EMR with explicit partitions and
# replication (modules/spark/files/run_streaming_job.sh).

locals {
  min_insync = max(1, var.replication_factor - 1)
  # SASL/SCRAM over TLS and IAM over TLS listener ports.
  client_ports = { scram = 9096, iam = 9098 }
}

resource "aws_security_group" "this" {
  name        = "${var.name}-msk"
  description = "MSK brokers: TLS client ports from the Spark nodes and hospital producers only"
  vpc_id      = var.vpc_id

  tags = { Name = "${var.name}-msk" }
}

resource "aws_vpc_security_group_ingress_rule" "from_security_groups" {
  for_each = {
    for pair in setproduct(keys(var.client_security_group_ids), keys(local.client_ports)) :
    "${pair[0]}-${pair[1]}" => { sg = var.client_security_group_ids[pair[0]], port = local.client_ports[pair[1]] }
  }

  security_group_id            = aws_security_group.this.id
  description                  = "Kafka over TLS from ${each.key}"
  ip_protocol                  = "tcp"
  from_port                    = each.value.port
  to_port                      = each.value.port
  referenced_security_group_id = each.value.sg
}

resource "aws_vpc_security_group_ingress_rule" "from_cidrs" {
  for_each = toset(var.client_cidrs)

  security_group_id = aws_security_group.this.id
  description       = "Kafka SASL/SCRAM over TLS from hospital producers ${each.value}"
  ip_protocol       = "tcp"
  from_port         = local.client_ports.scram
  to_port           = local.client_ports.scram
  cidr_ipv4         = each.value
}

resource "aws_msk_configuration" "this" {
  name           = "${var.name}-ecg"
  kafka_versions = [var.kafka_version]
  description    = "ECGdashboard: explicit topics, durable writes, retention long enough to replay an outage"

  server_properties = <<-PROPERTIES
    auto.create.topics.enable=false
    default.replication.factor=${var.replication_factor}
    min.insync.replicas=${local.min_insync}
    num.partitions=${var.partitions}
    unclean.leader.election.enable=false
    log.retention.hours=${var.retention_hours}
  PROPERTIES
}

resource "aws_msk_cluster" "this" {
  cluster_name           = var.name
  kafka_version          = var.kafka_version
  number_of_broker_nodes = var.broker_count
  enhanced_monitoring    = var.enhanced_monitoring

  broker_node_group_info {
    instance_type   = var.instance_type
    client_subnets  = var.subnet_ids
    security_groups = [aws_security_group.this.id]

    storage_info {
      ebs_storage_info {
        volume_size = var.volume_size_gb
      }
    }

    connectivity_info {
      public_access {
        type = "DISABLED"
      }
    }
  }

  configuration_info {
    arn      = aws_msk_configuration.this.arn
    revision = aws_msk_configuration.this.latest_revision
  }

  encryption_info {
    encryption_at_rest_kms_key_arn = var.kms_key_arn

    encryption_in_transit {
      client_broker = "TLS"
      in_cluster    = true
    }
  }

  client_authentication {
    unauthenticated = false

    sasl {
      scram = true
      iam   = true
    }
  }

  logging_info {
    broker_logs {
      cloudwatch_logs {
        enabled   = true
        log_group = var.log_group_name
      }
    }
  }
}

# --- SASL/SCRAM credentials: generated here, kept in Secrets Manager, never output -----------------
# MSK requires the secret name to start with AmazonMSK_ and a customer-managed KMS key.

resource "random_password" "scram" {
  length  = 40
  special = false
}

resource "aws_secretsmanager_secret" "scram" {
  #checkov:skip=CKV2_AWS_57:MSK SCRAM secrets have no managed rotation; rotate by writing a new version (README).
  name                    = "AmazonMSK_${var.name}-${var.scram_username}"
  description             = "SASL/SCRAM credentials of the ECGdashboard producers and Spark jobs"
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = var.secret_recovery_window_days
}

resource "aws_secretsmanager_secret_version" "scram" {
  secret_id     = aws_secretsmanager_secret.scram.id
  secret_string = jsonencode({ username = var.scram_username, password = random_password.scram.result })
}

resource "aws_msk_scram_secret_association" "this" {
  cluster_arn     = aws_msk_cluster.this.arn
  secret_arn_list = [aws_secretsmanager_secret.scram.arn]

  depends_on = [aws_secretsmanager_secret_version.scram]
}
