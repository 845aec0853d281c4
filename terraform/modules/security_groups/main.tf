# Every workload security group of the environment, with all of its rules, in one place.
#
# Why here and not in the modules that use the groups: a module that creates a cluster and its own
# groups hands the group ids out only together with the cluster, so rules that other modules add
# (brokers and database admitting the Spark nodes) are created after the cluster has booted and
# run its first job. Here every rule is created first and the ids are only handed out once all
# rules exist (outputs.tf: depends_on), so anything launched into these groups starts with its
# network paths open, in both directions.
#
# Terraform removes the allow-all egress rule AWS adds to a new group, so each group lists its
# egress explicitly: HTTPS to anywhere (through the NAT gateway or the S3 gateway endpoint: S3,
# AWS APIs, PyPI, package mirrors), Kafka to the brokers, PostgreSQL to the database.

locals {
  groups = {
    msk                = "MSK brokers: Kafka over TLS from the Spark nodes, the ops host and hospital gateways"
    db                 = "PostgreSQL/TimescaleDB: 5432 from the Spark nodes, the ops host and Grafana"
    emr_primary        = "EMR primary node (YARN resource manager, Spark drivers)"
    emr_core           = "EMR core nodes (YARN node managers, Spark executors)"
    emr_service_access = "EMR service access for clusters in private subnets"
    ops                = "Ops host: deploy-time migrations, topics and ACLs, WFDB replay, probes"
    grafana            = "Grafana: HTTPS from its load balancer (ec2) or the managed workspace's network interfaces"
    grafana_alb        = "Internal Grafana load balancer: HTTPS from the hospital networks"
  }
  # EMR's managed policy (AmazonEMRServicePolicy_v2) only acts on groups tagged for it.
  emr_groups = ["emr_primary", "emr_core", "emr_service_access"]

  kafka_ports = { scram = 9096, iam = 9098 }
  emr_nodes   = ["emr_primary", "emr_core"]
  db_clients  = ["emr_primary", "emr_core", "ops", "grafana"]
  kafka_users = ["emr_primary", "emr_core", "ops"]
  # Where database clients send PostgreSQL: the database group, or the CIDRs of a database
  # outside the VPC (Timescale Cloud).
  db_by_cidr        = length(var.database_cidrs) > 0
  db_clients_in_vpc = local.db_by_cidr ? [] : local.db_clients

  # --- rules as data: key => {group, peer group | cidr, protocol, port} ---------------------
  ingress_from_groups = merge(
    { for pair in setproduct(local.kafka_users, keys(local.kafka_ports)) :
      "msk-from-${pair[0]}-${pair[1]}" => { group = "msk", peer = pair[0], protocol = "tcp", port = local.kafka_ports[pair[1]], what = "Kafka (${pair[1]}) over TLS" }
    },
    { for c in local.db_clients :
      "db-from-${c}" => { group = "db", peer = c, protocol = "tcp", port = 5432, what = "PostgreSQL over TLS" }
    },
    # EMR: all traffic between the cluster's nodes (YARN, HDFS, Spark RPC and shuffle)
    { for pair in setproduct(local.emr_nodes, local.emr_nodes) :
      "${pair[0]}-from-${pair[1]}" => { group = pair[0], peer = pair[1], protocol = "-1", port = null, what = "all traffic inside the cluster" }
    },
    # EMR service access (private subnets): the service reaches the nodes on 8443, the primary
    # reaches the service access group on 9443.
    { for n in local.emr_nodes :
      "${n}-from-emr_service_access" => { group = n, peer = "emr_service_access", protocol = "tcp", port = 8443, what = "EMR service" }
    },
    { "emr_service_access-from-emr_primary" = { group = "emr_service_access", peer = "emr_primary", protocol = "tcp", port = 9443, what = "EMR service from the primary" } },
    { "grafana-from-grafana_alb" = { group = "grafana", peer = "grafana_alb", protocol = "tcp", port = 3000, what = "Grafana HTTPS from its load balancer" } },
  )

  ingress_from_cidrs = merge(
    { for c in var.producer_cidrs :
      "msk-from-${c}" => { group = "msk", cidr = c, port = local.kafka_ports.scram, what = "Kafka SASL/SCRAM over TLS from hospital gateways ${c}" }
    },
    { for pair in setproduct(var.hospital_cidrs, [80, 443]) :
      "grafana_alb-from-${pair[0]}-${pair[1]}" => { group = "grafana_alb", cidr = pair[0], port = pair[1], what = "HTTP(S) from hospital network ${pair[0]} (HTTP only redirects)" }
    },
  )

  egress_to_groups = merge(
    { for pair in setproduct(local.kafka_users, keys(local.kafka_ports)) :
      "${pair[0]}-to-msk-${pair[1]}" => { group = pair[0], peer = "msk", protocol = "tcp", port = local.kafka_ports[pair[1]], what = "Kafka (${pair[1]}) over TLS to the brokers" }
    },
    { for c in local.db_clients_in_vpc :
      "${c}-to-db" => { group = c, peer = "db", protocol = "tcp", port = 5432, what = "PostgreSQL over TLS to the database" }
    },
    { for pair in setproduct(local.emr_nodes, local.emr_nodes) :
      "${pair[0]}-to-${pair[1]}" => { group = pair[0], peer = pair[1], protocol = "-1", port = null, what = "all traffic inside the cluster" }
    },
    { "emr_primary-to-emr_service_access" = { group = "emr_primary", peer = "emr_service_access", protocol = "tcp", port = 9443, what = "EMR service access" } },
    { for n in local.emr_nodes :
      "emr_service_access-to-${n}" => { group = "emr_service_access", peer = n, protocol = "tcp", port = 8443, what = "EMR service to the nodes" }
    },
    { "grafana_alb-to-grafana" = { group = "grafana_alb", peer = "grafana", protocol = "tcp", port = 3000, what = "HTTPS to Grafana" } },
  )

  egress_to_cidrs = merge(
    # S3 (gateway endpoint: public S3 addresses), AWS APIs, PyPI, package repositories, the
    # webhook receiver: HTTPS through the NAT gateway or the endpoints.
    { for g in ["emr_primary", "emr_core", "ops", "db", "grafana"] :
      "${g}-to-https" => { group = g, cidr = "0.0.0.0/0", port = 443, what = "HTTPS to AWS APIs, S3 and package repositories" }
    },
    # Ubuntu's mirrors serve signed packages over HTTP.
    { for g in ["db", "grafana"] :
      "${g}-to-http" => { group = g, cidr = "0.0.0.0/0", port = 80, what = "HTTP to the Ubuntu package mirrors (signed packages)" }
    },
    { "grafana-to-smtp" = { group = "grafana", cidr = "0.0.0.0/0", port = var.smtp_port, what = "SMTP submission for alert e-mail" } },
    { for pair in setproduct(local.db_clients, var.database_cidrs) :
      "${pair[0]}-to-db-${pair[1]}" => { group = pair[0], cidr = pair[1], port = 5432, what = "PostgreSQL over TLS to the external database" }
    },
  )
}

resource "aws_security_group" "this" {
  #checkov:skip=CKV2_AWS_5:Attached outside this module (brokers, database, EMR, ops, Grafana and its load balancer take the ids from its outputs).
  for_each = local.groups

  name                   = "${var.name}-${replace(each.key, "_", "-")}"
  description            = each.value
  vpc_id                 = var.vpc_id
  revoke_rules_on_delete = contains(local.emr_groups, each.key)

  tags = merge(
    { Name = "${var.name}-${replace(each.key, "_", "-")}" },
    contains(local.emr_groups, each.key) ? { "for-use-with-amazon-emr-managed-policies" = "true" } : {},
  )
}

resource "aws_vpc_security_group_ingress_rule" "from_group" {
  for_each = local.ingress_from_groups

  security_group_id            = aws_security_group.this[each.value.group].id
  description                  = "${each.value.what} from ${each.value.peer}"
  ip_protocol                  = each.value.protocol
  from_port                    = each.value.port
  to_port                      = each.value.port
  referenced_security_group_id = aws_security_group.this[each.value.peer].id
}

resource "aws_vpc_security_group_ingress_rule" "from_cidr" {
  for_each = local.ingress_from_cidrs

  security_group_id = aws_security_group.this[each.value.group].id
  description       = each.value.what
  ip_protocol       = "tcp"
  from_port         = each.value.port
  to_port           = each.value.port
  cidr_ipv4         = each.value.cidr
}

resource "aws_vpc_security_group_egress_rule" "to_group" {
  for_each = local.egress_to_groups

  security_group_id            = aws_security_group.this[each.value.group].id
  description                  = "${each.value.what} (${each.value.peer})"
  ip_protocol                  = each.value.protocol
  from_port                    = each.value.port
  to_port                      = each.value.port
  referenced_security_group_id = aws_security_group.this[each.value.peer].id
}

resource "aws_vpc_security_group_egress_rule" "to_cidr" {
  for_each = local.egress_to_cidrs

  security_group_id = aws_security_group.this[each.value.group].id
  description       = each.value.what
  ip_protocol       = "tcp"
  from_port         = each.value.port
  to_port           = each.value.port
  cidr_ipv4         = each.value.cidr
}
