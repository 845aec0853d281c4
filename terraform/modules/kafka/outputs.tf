output "cluster_arn" {
  description = "ARN of the MSK cluster."
  value       = aws_msk_cluster.this.arn
}

output "cluster_name" {
  description = "Name of the MSK cluster (the `Cluster Name` dimension of its CloudWatch metrics)."
  value       = aws_msk_cluster.this.cluster_name
}

output "bootstrap_brokers_sasl_scram" {
  description = "Bootstrap servers for SASL/SCRAM over TLS (ECG_KAFKA_BOOTSTRAP)."
  value       = aws_msk_cluster.this.bootstrap_brokers_sasl_scram
}

output "bootstrap_brokers_sasl_iam" {
  description = "Bootstrap servers for IAM authentication over TLS."
  value       = aws_msk_cluster.this.bootstrap_brokers_sasl_iam
}

output "secret_arns" {
  description = "ARNs of the SASL/SCRAM secrets by user key: jobs, ops, gw-<gateway> (the values are not output)."
  value       = { for k, s in aws_secretsmanager_secret.scram : k => s.arn }
}

output "usernames" {
  description = "SASL/SCRAM user names by user key (the Kafka principals User:<name> of the ACLs)."
  value       = local.users
}

output "acl_spec" {
  description = "The Kafka ACLs the ops host applies at deploy time, as JSON: {\"acls\": [{principal, host, operation, permission, resource_type, resource_name, pattern_type}]}."
  value       = jsonencode({ acls = [for k in sort(keys(local.acl)) : local.acl[k]] })
}

output "replication_factor" {
  description = "Replication factor the topics are created with."
  value       = var.replication_factor
}

output "partitions" {
  description = "Partitions of the topics (ECG_PARTITIONS)."
  value       = var.partitions
}
