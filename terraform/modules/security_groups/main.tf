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

  # Every flow between two groups, as a table: each row becomes an egress rule on `from` and an
  # ingress rule on `to` (port null with protocol -1: all traffic).
  flows = [
    { from = "emr_primary", to = "msk", protocol = "tcp", port = 9096, what = "Kafka SASL/SCRAM over TLS" },
    { from = "emr_core", to = "msk", protocol = "tcp", port = 9096, what = "Kafka SASL/SCRAM over TLS" },
    { from = "ops", to = "msk", protocol = "tcp", port = 9096, what = "Kafka SASL/SCRAM over TLS" },
    { from = "emr_primary", to = "msk", protocol = "tcp", port = 9098, what = "Kafka IAM over TLS" },
    { from = "emr_core", to = "msk", protocol = "tcp", port = 9098, what = "Kafka IAM over TLS" },
    { from = "ops", to = "msk", protocol = "tcp", port = 9098, what = "Kafka IAM over TLS" },
    { from = "emr_primary", to = "db", protocol = "tcp", port = 5432, what = "PostgreSQL over TLS" },
    { from = "emr_core", to = "db", protocol = "tcp", port = 5432, what = "PostgreSQL over TLS" },
    { from = "ops", to = "db", protocol = "tcp", port = 5432, what = "PostgreSQL over TLS" },
    { from = "grafana", to = "db", protocol = "tcp", port = 5432, what = "PostgreSQL over TLS" },
    # inside an EMR cluster: YARN, Spark RPC, block transfer and shuffle
    { from = "emr_primary", to = "emr_primary", protocol = "-1", port = null, what = "all traffic inside the cluster" },
    { from = "emr_primary", to = "emr_core", protocol = "-1", port = null, what = "all traffic inside the cluster" },
    { from = "emr_core", to = "emr_primary", protocol = "-1", port = null, what = "all traffic inside the cluster" },
    { from = "emr_core", to = "emr_core", protocol = "-1", port = null, what = "all traffic inside the cluster" },
    # EMR service access in private subnets: the service reaches the nodes on 8443, the primary
    # reaches the service access group on 9443
    { from = "emr_service_access", to = "emr_primary", protocol = "tcp", port = 8443, what = "EMR service" },
    { from = "emr_service_access", to = "emr_core", protocol = "tcp", port = 8443, what = "EMR service" },
    { from = "emr_primary", to = "emr_service_access", protocol = "tcp", port = 9443, what = "EMR service access" },
    { from = "grafana_alb", to = "grafana", protocol = "tcp", port = 3000, what = "Grafana HTTPS from its load balancer" },
  ]

  # Egress to anywhere: HTTPS through the NAT gateway or the S3 gateway endpoint (S3, AWS APIs,
  # PyPI, Maven Central for hadoop-aws, package repositories, the webhook receiver), HTTP for
  # Ubuntu's mirrors (signed packages), SMTP submission for Grafana's alert e-mail.
  egress_anywhere = [
    { group = "emr_primary", port = 443, what = "HTTPS to AWS APIs, S3, PyPI and Maven Central" },
    { group = "emr_core", port = 443, what = "HTTPS to AWS APIs, S3, PyPI and Maven Central" },
    { group = "ops", port = 443, what = "HTTPS to AWS APIs, S3 and PyPI" },
    { group = "db", port = 443, what = "HTTPS to AWS APIs, S3 and package repositories" },
    { group = "db", port = 80, what = "HTTP to the Ubuntu package mirrors (signed packages)" },
    { group = "grafana", port = 443, what = "HTTPS to AWS APIs, S3, package repositories and the webhook receiver" },
    { group = "grafana", port = 80, what = "HTTP to the Ubuntu package mirrors (signed packages)" },
    { group = "grafana", port = var.smtp_port, what = "SMTP submission for alert e-mail" },
  ]

  # Rules that depend on the site: hospital gateways to the brokers, hospital users to the load
  # balancer, database clients to a database outside the VPC.
  ingress_from_cidrs = merge(
    { for c in var.producer_cidrs :
      "msk-from-${c}" => { group = "msk", cidr = c, port = 9096, what = "Kafka SASL/SCRAM over TLS from hospital gateways ${c}" }
    },
    { for pair in setproduct(var.hospital_cidrs, [80, 443]) :
      "grafana_alb-from-${pair[0]}-${pair[1]}" => { group = "grafana_alb", cidr = pair[0], port = pair[1], what = "HTTP(S) from hospital network ${pair[0]} (HTTP only redirects)" }
    },
  )
  egress_to_cidrs = merge(
    { for r in local.egress_anywhere : "${r.group}-to-anywhere-${r.port}" => merge(r, { cidr = "0.0.0.0/0" }) },
    { for pair in setproduct(["emr_primary", "emr_core", "ops", "grafana"], var.database_cidrs) :
      "${pair[0]}-to-db-${pair[1]}" => { group = pair[0], cidr = pair[1], port = 5432, what = "PostgreSQL over TLS to the external database" }
    },
  )
  flows_by_key = { for f in local.flows : "${f.from}-to-${f.to}-${coalesce(f.port, "all")}" => f }
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
  for_each = local.flows_by_key

  security_group_id            = aws_security_group.this[each.value.to].id
  description                  = "${each.value.what} from ${each.value.from}"
  ip_protocol                  = each.value.protocol
  from_port                    = each.value.port
  to_port                      = each.value.port
  referenced_security_group_id = aws_security_group.this[each.value.from].id
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
  for_each = local.flows_by_key

  security_group_id            = aws_security_group.this[each.value.from].id
  description                  = "${each.value.what} to ${each.value.to}"
  ip_protocol                  = each.value.protocol
  from_port                    = each.value.port
  to_port                      = each.value.port
  referenced_security_group_id = aws_security_group.this[each.value.to].id
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
