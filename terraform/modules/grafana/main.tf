# Grafana in one of two modes:
#   ec2      Grafana OSS (pinned apt package) on a private instance behind an internal HTTPS ALB
#            reachable from the hospital networks only. cloud-init syncs the repo's
#            grafana/provisioning/ (uploaded here to S3) into /etc/grafana/provisioning and re-syncs
#            every 5 minutes; secrets come from Secrets Manager into the environment at every start
#            and are referenced as $__env{...} by the provisioning files and grafana.ini. Alert
#            e-mail through the hospital's SMTP server, a webhook contact point, dashboards may
#            refresh every second. Admin password in Secrets Manager; anonymous access and sign-up
#            off. The security groups (instance, load balancer) come from modules/security_groups.
#   managed  Amazon Managed Grafana with IAM Identity Center login, attached to the VPC to reach
#            the database. It has no file provisioning: the same files are applied through its
#            HTTP API (see terraform/README.md).

locals {
  is_ec2        = var.mode == "ec2"
  provisioning  = fileset(var.provisioning_dir, "**/*.{yaml,yml,json}")
  provision_uri = "s3://${var.artifacts_bucket}/grafana/provisioning"
}

data "aws_region" "current" {}

resource "aws_s3_object" "provisioning" {
  for_each = local.provisioning

  bucket      = var.artifacts_bucket
  key         = "grafana/provisioning/${each.value}"
  source      = "${var.provisioning_dir}/${each.value}"
  source_hash = filemd5("${var.provisioning_dir}/${each.value}")
  kms_key_id  = var.kms_key_arn
}

# --- ec2 mode --------------------------------------------------------------------------------------

resource "random_password" "admin" {
  count = local.is_ec2 ? 1 : 0

  length  = 32
  special = false
}

resource "aws_secretsmanager_secret" "admin" {
  #checkov:skip=CKV2_AWS_57:The Grafana admin password is read at service start; rotate by writing a new version and restarting grafana-server.
  count = local.is_ec2 ? 1 : 0

  name                    = "${var.name}/grafana/admin"
  description             = "Grafana admin password"
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = var.secret_recovery_window_days
}

resource "aws_secretsmanager_secret_version" "admin" {
  count = local.is_ec2 ? 1 : 0

  secret_id     = aws_secretsmanager_secret.admin[0].id
  secret_string = jsonencode({ username = "admin", password = random_password.admin[0].result })
}

data "aws_ami" "ubuntu" {
  count = local.is_ec2 && var.ami_id == null ? 1 : 0

  most_recent = true
  owners      = ["099720109477"] # Canonical

  filter {
    name   = "name"
    values = ["ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*"]
  }
}

resource "aws_instance" "this" {
  count = local.is_ec2 ? 1 : 0

  ami                         = coalesce(var.ami_id, one(data.aws_ami.ubuntu[*].id))
  instance_type               = var.instance_type
  subnet_id                   = var.subnet_ids[0]
  vpc_security_group_ids      = [var.security_group_id]
  iam_instance_profile        = var.instance_profile_name
  associate_public_ip_address = false
  disable_api_termination     = var.deletion_protection
  ebs_optimized               = true
  monitoring                  = true

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  root_block_device {
    volume_type = "gp3"
    volume_size = 20
    encrypted   = true
    kms_key_id  = var.kms_key_arn
  }

  user_data = templatefile("${path.module}/templates/grafana-cloud-init.yaml.tftpl", {
    region                   = data.aws_region.current.region
    grafana_version          = var.grafana_version
    provisioning_uri         = local.provision_uri
    admin_secret_arn         = aws_secretsmanager_secret.admin[0].arn
    reader_secret_arn        = var.db_reader_secret_arn
    db_host                  = var.db_host
    db_port                  = var.db_port
    db_name                  = var.db_name
    timescaledb              = var.timescaledb
    log_group_name           = var.log_group_name
    alert_emails             = var.alert_emails
    alert_webhook_url        = var.alert_webhook_url
    smtp_host                = "${var.smtp.host}:${var.smtp.port}"
    smtp_user                = var.smtp.user
    smtp_from_address        = var.smtp.from_address
    smtp_from_name           = var.smtp.from_name
    smtp_password_secret_arn = var.smtp.password_secret_arn
    min_refresh_interval     = var.min_refresh_interval
  })

  lifecycle {
    ignore_changes = [ami, user_data]
  }

  tags = { Name = "${var.name}-grafana" }

  depends_on = [aws_s3_object.provisioning]
}

resource "aws_lb" "this" {
  #checkov:skip=CKV2_AWS_28:Internal load balancer reachable only from the hospital CIDRs; attach a WAF web ACL if it is ever exposed wider.
  count = local.is_ec2 ? 1 : 0

  name                       = substr("${var.name}-grafana", 0, 32)
  internal                   = true
  load_balancer_type         = "application"
  subnets                    = var.subnet_ids
  security_groups            = [var.alb_security_group_id]
  drop_invalid_header_fields = true
  enable_deletion_protection = var.deletion_protection

  access_logs {
    bucket  = var.access_logs_bucket
    prefix  = "alb"
    enabled = true
  }
}

resource "aws_lb_target_group" "this" {
  count = local.is_ec2 ? 1 : 0

  name     = substr("${var.name}-grafana", 0, 32)
  port     = 3000
  protocol = "HTTPS"
  vpc_id   = var.vpc_id

  health_check {
    protocol = "HTTPS"
    path     = "/api/health"
    matcher  = "200"
  }
}

resource "aws_lb_target_group_attachment" "this" {
  count = local.is_ec2 ? 1 : 0

  target_group_arn = aws_lb_target_group.this[0].arn
  target_id        = aws_instance.this[0].id
  port             = 3000
}

resource "aws_lb_listener" "https" {
  count = local.is_ec2 ? 1 : 0

  load_balancer_arn = aws_lb.this[0].arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  certificate_arn   = var.certificate_arn

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.this[0].arn
  }
}

resource "aws_lb_listener" "http_redirect" {
  count = local.is_ec2 ? 1 : 0

  load_balancer_arn = aws_lb.this[0].arn
  port              = 80
  protocol          = "HTTP"

  default_action {
    type = "redirect"

    redirect {
      port        = "443"
      protocol    = "HTTPS"
      status_code = "HTTP_301"
    }
  }
}

# --- managed mode ----------------------------------------------------------------------------------

data "aws_iam_policy_document" "workspace_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["grafana.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "workspace" {
  count = local.is_ec2 ? 0 : 1

  name               = "${var.name}-managed-grafana"
  assume_role_policy = data.aws_iam_policy_document.workspace_assume.json
}

resource "aws_grafana_workspace" "this" {
  count = local.is_ec2 ? 0 : 1

  name                     = var.name
  description              = "ECGdashboard ${var.name}"
  account_access_type      = "CURRENT_ACCOUNT"
  authentication_providers = ["AWS_SSO"]
  permission_type          = "SERVICE_MANAGED"
  role_arn                 = aws_iam_role.workspace[0].arn
  grafana_version          = var.managed_grafana_version

  vpc_configuration {
    security_group_ids = [var.security_group_id]
    subnet_ids         = var.subnet_ids
  }
}
