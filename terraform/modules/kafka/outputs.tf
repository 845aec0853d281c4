output "cluster_arn" {
  description = "ARN of the MSK cluster."
  value       = aws_msk_cluster.this.arn
}

output "bootstrap_brokers_sasl_scram" {
  description = "Bootstrap servers for SASL/SCRAM over TLS (ECG_KAFKA_BOOTSTRAP)."
  value       = aws_msk_cluster.this.bootstrap_brokers_sasl_scram
}

output "bootstrap_brokers_sasl_iam" {
  description = "Bootstrap servers for IAM authentication over TLS."
  value       = aws_msk_cluster.this.bootstrap_brokers_sasl_iam
}

output "security_group_id" {
  description = "ID of the brokers' security group."
  value       = aws_security_group.this.id
}

output "scram_secret_arn" {
  description = "ARN of the Secrets Manager secret holding the SASL/SCRAM user and password (the value is not output)."
  value       = aws_secretsmanager_secret.scram.arn
}

output "replication_factor" {
  description = "Replication factor the job wrapper uses when it creates the topics."
  value       = var.replication_factor
}
