# mode = "ec2": self-managed TimescaleDB on one EC2 host in a private subnet.

data "aws_ami" "ubuntu" {
  count = local.is_ec2 && var.ami_id == null ? 1 : 0

  most_recent = true
  owners      = ["099720109477"] # Canonical

  filter {
    name   = "name"
    values = ["ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*"]
  }
}

data "aws_subnet" "db" {
  id = var.subnet_ids[0]
}

data "aws_region" "current" {}

resource "aws_ebs_volume" "data" {
  count = local.is_ec2 ? 1 : 0

  availability_zone = data.aws_subnet.db.availability_zone
  size              = var.data_volume_size_gb
  type              = "gp3"
  iops              = var.data_volume_iops
  encrypted         = true
  kms_key_id        = var.kms_key_arn

  tags = { Name = "${var.name}-timescaledb-data", Backup = "${var.name}-timescaledb" }
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
    volume_size = 30
    encrypted   = true
    kms_key_id  = var.kms_key_arn
  }

  user_data = templatefile("${path.module}/templates/timescaledb-cloud-init.yaml.tftpl", {
    region              = data.aws_region.current.region
    pg_major            = var.postgres_major_version
    database            = var.database_name
    vpc_cidr            = var.vpc_cidr
    data_volume_id      = aws_ebs_volume.data[0].id
    owner_role          = local.owner_role
    owner_secret_arn    = aws_secretsmanager_secret.owner[0].arn
    backups_bucket      = var.backups_bucket
    backup_repo_path    = "/pgbackrest/${var.name}"
    kms_key_arn         = var.kms_key_arn
    full_retention_days = var.backup_retention_days
    log_group_name      = var.log_group_name
  })

  # cloud-init runs once; a changed template must not replace the database host.
  lifecycle {
    ignore_changes = [ami, user_data]
  }

  tags = { Name = "${var.name}-timescaledb" }

  # the owner password must be in Secrets Manager before cloud-init reads it
  depends_on = [aws_secretsmanager_secret_version.owner]
}

resource "aws_volume_attachment" "data" {
  count = local.is_ec2 ? 1 : 0

  device_name = "/dev/sdf"
  volume_id   = aws_ebs_volume.data[0].id
  instance_id = aws_instance.this[0].id
}

# Second line of backup: daily crash-consistent snapshots of the data volume.
data "aws_iam_policy_document" "dlm_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["dlm.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "dlm" {
  count = local.is_ec2 ? 1 : 0

  name               = "${var.name}-db-snapshots"
  assume_role_policy = data.aws_iam_policy_document.dlm_assume.json
}

resource "aws_iam_role_policy_attachment" "dlm" {
  count = local.is_ec2 ? 1 : 0

  role       = aws_iam_role.dlm[0].name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AWSDataLifecycleManagerServiceRole"
}

resource "aws_dlm_lifecycle_policy" "data" {
  count = local.is_ec2 ? 1 : 0

  description        = "${var.name} TimescaleDB data volume, daily"
  execution_role_arn = aws_iam_role.dlm[0].arn
  state              = "ENABLED"

  policy_details {
    resource_types = ["VOLUME"]
    target_tags    = { Backup = "${var.name}-timescaledb" }

    schedule {
      name      = "daily"
      copy_tags = true

      create_rule {
        interval      = 24
        interval_unit = "HOURS"
        times         = ["02:30"]
      }

      retain_rule {
        count = var.snapshot_retention_days
      }
    }
  }
}
