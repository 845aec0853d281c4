output "bucket_names" {
  description = "Bucket names by purpose: data, artifacts, backups, checkpoints, audit, access_logs."
  value       = merge({ for k, b in aws_s3_bucket.this : k => b.id }, { access_logs = aws_s3_bucket.access_logs.id })
}

output "bucket_arns" {
  description = "Bucket ARNs by purpose: data, artifacts, backups, checkpoints, audit, access_logs."
  value       = merge({ for k, b in aws_s3_bucket.this : k => b.arn }, { access_logs = aws_s3_bucket.access_logs.arn })
}
