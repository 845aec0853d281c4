# The ops host: one small instance in an Auto Scaling group (it heals itself, and a new release
# replaces it through an instance refresh) that runs, from the same wheel as the jobs:
#   - at deploy time, as the database owner and the Kafka admin user: `ecgdash db migrate`,
#     `ecgdash kafka create-topics`, and the Kafka ACLs (kafka-acls.json) -- once per boot, and
#     every boot is a deploy (the launch template names the release);
#   - the demo ingest service: `ecgdash ingest <data bucket prefix> --loop`, replaying WFDB records
#     with their own timing as the gateway user gw-replay (only when a replay source is set);
#   - the staleness probe: every minute, the age of each job's newest checkpoint commit on S3,
#     published as SecondsSinceLastBatch and alarmed -- measured without asking the job itself.
#
# Why an EC2 Auto Scaling group and not ECS on Fargate: the deployable artefact of this project
# is a wheel, not a container image, and there is no image build or registry in the repository;
# the EMR nodes install the same wheel the same way. A Fargate service would add an image
# pipeline and ECR for one process. Amazon Linux 2023 brings Python 3.11, the AWS CLI and the
# CloudWatch agent as packages.

data "aws_ssm_parameter" "al2023" {
  count = var.ami_id == null ? 1 : 0

  name = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
}

locals {
  ami = coalesce(var.ami_id, one(data.aws_ssm_parameter.al2023[*].insecure_value))
  # sourced by bash: one NAME='value' per line (values are ours and never contain quotes)
  environment_file = join("\n", [for k in sort(keys(var.settings)) : "${k}='${var.settings[k]}'"])
}

resource "aws_launch_template" "this" {
  name_prefix            = "${var.name}-ops-"
  description            = "ECGdashboard ops host (${var.name})"
  image_id               = local.ami
  instance_type          = var.instance_type
  vpc_security_group_ids = [var.security_group_id]
  update_default_version = true

  iam_instance_profile {
    arn = var.instance_profile_arn
  }

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  monitoring {
    enabled = true
  }

  # Stateless host (everything it needs is in S3 and Secrets Manager): the account's default EBS
  # key suffices, and the Auto Scaling service-linked role may use it without a key-policy grant.
  block_device_mappings {
    device_name = "/dev/xvda"

    ebs {
      volume_size           = 20
      volume_type           = "gp3"
      encrypted             = true
      delete_on_termination = true
    }
  }

  user_data = base64encode(templatefile("${path.module}/templates/ops-cloud-init.yaml.tftpl", {
    environment_file = local.environment_file
    acl_spec         = var.acl_spec
    log_group_name   = var.log_group_name
  }))

  tag_specifications {
    resource_type = "instance"
    tags          = { Name = "${var.name}-ops" }
  }

  tag_specifications {
    resource_type = "volume"
    tags          = { Name = "${var.name}-ops" }
  }

  lifecycle {
    precondition {
      condition     = alltrue([for v in values(var.settings) : !can(regex("'", v))])
      error_message = "settings values must not contain single quotes."
    }
  }
}

resource "aws_autoscaling_group" "this" {
  name                      = "${var.name}-ops"
  min_size                  = 1
  max_size                  = 1
  desired_capacity          = 1
  vpc_zone_identifier       = var.subnet_ids
  health_check_type         = "EC2"
  health_check_grace_period = 300

  launch_template {
    id      = aws_launch_template.this.id
    version = aws_launch_template.this.latest_version
  }

  # A new release (or any change of the launch template) replaces the instance: its first boot
  # runs the deploy (migrations, topics, ACLs) with the new wheel.
  instance_refresh {
    strategy = "Rolling"
    preferences {
      min_healthy_percentage = 0
    }
  }

  tag {
    key                 = "Name"
    value               = "${var.name}-ops"
    propagate_at_launch = true
  }
}
