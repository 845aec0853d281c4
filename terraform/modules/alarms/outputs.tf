output "topic_arn" {
  description = "ARN of the SNS topic every pipeline alarm goes to (subscribe pagers or chat here)."
  value       = aws_sns_topic.this.arn
}

output "alarm_names" {
  description = "Names of the CloudWatch alarms, by kind."
  value = {
    staleness    = [for a in aws_cloudwatch_metric_alarm.staleness : a.alarm_name]
    consumer_lag = [for a in aws_cloudwatch_metric_alarm.consumer_lag : a.alarm_name]
    restarts     = [for a in aws_cloudwatch_metric_alarm.restarts : a.alarm_name]
    deploy       = [aws_cloudwatch_metric_alarm.deploy.alarm_name]
    hosts        = concat([for a in aws_cloudwatch_metric_alarm.status_check : a.alarm_name], aws_cloudwatch_metric_alarm.grafana_unhealthy[*].alarm_name)
  }
}
