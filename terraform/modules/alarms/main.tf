# What must wake someone up, routed to one SNS topic (KMS-encrypted; e-mail subscriptions here,
# add pager or chat subscriptions to the same topic):
#   job staleness   SecondsSinceLastBatch of each job, measured by the ops host's probe from the
#                   checkpoint commits on S3 (not by the job itself); no data counts as stale
#   consumer lag    MSK's EstimatedMaxTimeLag of each job's monitoring consumer group
#   job restarts    JobRestarts published by the EMR job supervisors (a failed attempt)
#   deploy failed   DeployFailures published by the ops host (migrations, topics, ACLs)
#   EMR             a failed step, or a cluster that terminates or is arrested (EventBridge)
#   hosts           failed EC2 status checks of the database and Grafana hosts (with recovery),
#                   no healthy Grafana behind its load balancer
# These are pipeline alarms for operations; patient alarms are Grafana's (alert rules on the
# alarm events), delivered by its own contact points.

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}

locals {
  topic_name = "${var.name}-alarms"
}

resource "aws_sns_topic" "this" {
  name              = local.topic_name
  kms_master_key_id = var.kms_key_arn
}

data "aws_iam_policy_document" "topic" {
  statement {
    sid       = "CloudWatchAlarmsAndEventBridgePublish"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.this.arn]
    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com", "events.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_sns_topic_policy" "this" {
  arn    = aws_sns_topic.this.arn
  policy = data.aws_iam_policy_document.topic.json
}

resource "aws_sns_topic_subscription" "email" {
  for_each = toset(var.emails)

  topic_arn = aws_sns_topic.this.arn
  protocol  = "email"
  endpoint  = each.value
}

# --- the streaming jobs ----------------------------------------------------------------------------

resource "aws_cloudwatch_metric_alarm" "staleness" {
  for_each = var.jobs

  alarm_name          = "${var.name}-${each.key}-stale"
  alarm_description   = "${each.key}: no micro-batch committed for more than ${each.value.stale_after_seconds} s (checkpoint commits on S3, measured by the ops host). Missing data counts as stale."
  namespace           = var.metric_namespace
  metric_name         = "SecondsSinceLastBatch"
  dimensions          = { Environment = var.environment, Job = each.key }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 3
  datapoints_to_alarm = 2
  threshold           = each.value.stale_after_seconds
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "breaching"
  alarm_actions       = [aws_sns_topic.this.arn]
  ok_actions          = [aws_sns_topic.this.arn]
}

resource "aws_cloudwatch_metric_alarm" "consumer_lag" {
  for_each = var.jobs

  alarm_name          = "${var.name}-${each.key}-lag"
  alarm_description   = "${each.key}: consumer group ${each.value.consumer_group} is more than ${var.lag_alarm_seconds} s behind ${var.topic} (MSK EstimatedMaxTimeLag; no data means no group, which the staleness alarm covers)."
  namespace           = "AWS/Kafka"
  metric_name         = "EstimatedMaxTimeLag"
  dimensions          = { "Cluster Name" = var.msk_cluster_name, "Consumer Group" = each.value.consumer_group, Topic = var.topic }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 5
  datapoints_to_alarm = 3
  threshold           = var.lag_alarm_seconds
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.this.arn]
  ok_actions          = [aws_sns_topic.this.arn]
}

resource "aws_cloudwatch_metric_alarm" "restarts" {
  for_each = var.jobs

  alarm_name          = "${var.name}-${each.key}-restarts"
  alarm_description   = "${each.key}: the job failed and its supervisor on the EMR primary node is retrying (see the jobs log group)."
  namespace           = var.metric_namespace
  metric_name         = "JobRestarts"
  dimensions          = { Environment = var.environment, Job = each.key }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.this.arn]
  ok_actions          = [aws_sns_topic.this.arn]
}

resource "aws_cloudwatch_metric_alarm" "deploy" {
  alarm_name          = "${var.name}-deploy-failed"
  alarm_description   = "The ops host's deploy (ecgdash db migrate, create-topics, Kafka ACLs) failed and is being retried (see the ops log group)."
  namespace           = var.metric_namespace
  metric_name         = "DeployFailures"
  dimensions          = { Environment = var.environment }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.this.arn]
  ok_actions          = [aws_sns_topic.this.arn]
}

# --- EMR: failed steps, terminated or arrested clusters --------------------------------------------

resource "aws_cloudwatch_event_rule" "emr" {
  name        = "${var.name}-emr-failures"
  description = "A failed step, or a terminated or arrested cluster, of this environment's EMR clusters"
  event_pattern = jsonencode({
    source        = ["aws.emr"]
    "detail-type" = ["EMR Step Status Change", "EMR Cluster State Change"]
    detail = {
      clusterId = var.emr_cluster_ids
      state     = ["FAILED", "TERMINATED", "TERMINATED_WITH_ERRORS", "ARRESTED"]
    }
  })
}

resource "aws_cloudwatch_event_target" "emr" {
  rule = aws_cloudwatch_event_rule.emr.name
  arn  = aws_sns_topic.this.arn
}

# --- hosts -------------------------------------------------------------------------------------------

resource "aws_cloudwatch_metric_alarm" "status_check" {
  for_each = var.instances

  alarm_name          = "${var.name}-${each.key}-status-check"
  alarm_description   = "The ${each.key} host fails its EC2 system status check; EC2 recovers it onto new hardware."
  namespace           = "AWS/EC2"
  metric_name         = "StatusCheckFailed_System"
  dimensions          = { InstanceId = each.value }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 2
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "missing"
  alarm_actions       = [aws_sns_topic.this.arn, "arn:aws:automate:${data.aws_region.current.region}:ec2:recover"]
  ok_actions          = [aws_sns_topic.this.arn]
}

resource "aws_cloudwatch_metric_alarm" "grafana_unhealthy" {
  count = var.grafana_target != null ? 1 : 0

  alarm_name          = "${var.name}-grafana-unhealthy"
  alarm_description   = "No healthy Grafana behind its load balancer (the ward wall is down)."
  namespace           = "AWS/ApplicationELB"
  metric_name         = "HealthyHostCount"
  dimensions          = { LoadBalancer = var.grafana_target.load_balancer, TargetGroup = var.grafana_target.target_group }
  statistic           = "Minimum"
  period              = 60
  evaluation_periods  = 3
  threshold           = 1
  comparison_operator = "LessThanThreshold"
  treat_missing_data  = "breaching"
  alarm_actions       = [aws_sns_topic.this.arn]
  ok_actions          = [aws_sns_topic.this.arn]
}
