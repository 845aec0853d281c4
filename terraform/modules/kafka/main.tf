# Amazon MSK: brokers in private subnets, TLS between clients and brokers and between brokers,
# storage encrypted with the environment's KMS key, SASL/SCRAM (+ IAM) authentication and no
# unauthenticated access. Topics are not auto-created: `ecg.waveform` (keyed by patient) and
# `ecg.waveform.dlq` are created by `ecgdash kafka create-topics` (ops host at deploy time, and the
# job supervisors before each start), with explicit partitions and replication.
#
# One SCRAM user per client, each in its own AmazonMSK_ secret:
#   jobs         the Spark jobs: read ecg.waveform, write ecg.waveform.dlq, commit their
#                monitoring groups (ecgdash.*), create the two topics if missing
#   ops          the ops host: creates topics and applies the ACLs below at deploy time
#   gw-<name>    one per hospital ECG gateway (var.gateways): writes ecg.waveform only
# The ACLs (output acl_spec) are applied by the ops host; see terraform/README.md.

locals {
  min_insync = max(1, var.replication_factor - 1)
  users = merge(
    { jobs = "ecgdash-jobs", ops = "ecgdash-ops" },
    { for gw in var.gateways : "gw-${gw}" => "gw-${gw}" },
  )
  gateway_users = [for k, u in local.users : u if startswith(k, "gw-")]

  acl = { for a in concat(
    # ops: cluster administration (ACLs, topic creation) -- an ACL on the cluster resource also
    # takes ALTER and CREATE away from every other principal
    [for op in ["Alter", "AlterConfigs", "Create", "Describe", "DescribeConfigs"] :
    { principal = "User:${local.users.ops}", resource_type = "Cluster", resource_name = "kafka-cluster", pattern_type = "Literal", operation = op }],
    [for pair in setproduct([var.topic, var.dlq_topic], ["Create", "Describe", "DescribeConfigs", "Alter"]) :
    { principal = "User:${local.users.ops}", resource_type = "Topic", resource_name = pair[0], pattern_type = "Literal", operation = pair[1] }],
    # jobs: read the waveform topic, write dead letters, create both if missing, commit the
    # monitoring consumer groups ecgdash.raw_writer / ecgdash.alarm_job (/ ecgdash.hr_job)
    [for pair in setproduct([var.topic, var.dlq_topic], ["Describe", "Create"]) :
    { principal = "User:${local.users.jobs}", resource_type = "Topic", resource_name = pair[0], pattern_type = "Literal", operation = pair[1] }],
    [{ principal = "User:${local.users.jobs}", resource_type = "Topic", resource_name = var.topic, pattern_type = "Literal", operation = "Read" }],
    [{ principal = "User:${local.users.jobs}", resource_type = "Topic", resource_name = var.dlq_topic, pattern_type = "Literal", operation = "Write" }],
    [for op in ["Read", "Describe"] :
    { principal = "User:${local.users.jobs}", resource_type = "Group", resource_name = var.consumer_group_prefix, pattern_type = "Prefixed", operation = op }],
    # gateways: produce to the waveform topic, nothing else
    [for pair in setproduct(local.gateway_users, ["Write", "Describe"]) :
    { principal = "User:${pair[0]}", resource_type = "Topic", resource_name = var.topic, pattern_type = "Literal", operation = pair[1] }],
  ) : "${a.principal}|${a.resource_type}|${a.resource_name}|${a.operation}" => merge(a, { host = "*", permission = "Allow" }) }
}

resource "aws_msk_configuration" "this" {
  name           = "${var.name}-ecg"
  kafka_versions = [var.kafka_version]
  description    = "ECGdashboard: explicit topics, durable writes, retention long enough to replay an outage"

  # allow.everyone.if.no.acl.found stays true so that the ops user can write the first ACLs (MSK
  # has no super.users); once the ACLs exist, every resource they name (the cluster, both topics,
  # the jobs' groups) admits only the principals listed in them.
  server_properties = <<-PROPERTIES
    auto.create.topics.enable=false
    default.replication.factor=${var.replication_factor}
    min.insync.replicas=${local.min_insync}
    num.partitions=${var.partitions}
    unclean.leader.election.enable=false
    log.retention.hours=${var.retention_hours}
    allow.everyone.if.no.acl.found=true
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
    security_groups = [var.security_group_id]

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

  lifecycle {
    precondition {
      condition     = var.broker_count % length(var.subnet_ids) == 0
      error_message = "broker_count must be a multiple of the number of subnets (availability zones)."
    }
    precondition {
      condition     = var.replication_factor <= var.broker_count
      error_message = "replication_factor cannot exceed broker_count."
    }
  }
}

# --- SASL/SCRAM credentials: generated here, kept in Secrets Manager, never output -----------------
# MSK requires the secret name to start with AmazonMSK_ and a customer-managed KMS key.

resource "random_password" "scram" {
  for_each = local.users

  length  = 40
  special = false
}

resource "aws_secretsmanager_secret" "scram" {
  #checkov:skip=CKV2_AWS_57:MSK SCRAM secrets have no managed rotation; rotate by writing a new version (README).
  for_each = local.users

  name                    = "AmazonMSK_${var.name}-${each.value}"
  description             = "SASL/SCRAM credentials of ${each.value} (ECGdashboard ${var.name})"
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = var.secret_recovery_window_days
}

resource "aws_secretsmanager_secret_version" "scram" {
  for_each = local.users

  secret_id = aws_secretsmanager_secret.scram[each.key].id
  secret_string = jsonencode({
    username = each.value
    password = random_password.scram[each.key].result
  })
}

# One association per secret: adding or removing a gateway touches only its own.
resource "aws_msk_single_scram_secret_association" "this" {
  for_each = local.users

  cluster_arn = aws_msk_cluster.this.arn
  secret_arn  = aws_secretsmanager_secret.scram[each.key].arn

  depends_on = [aws_secretsmanager_secret_version.scram]
}
