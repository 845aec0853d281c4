output "ecgdash" {
  description = "Everything the runbook needs after apply: Grafana URL, Kafka bootstrap brokers, where each secret lives, gateway secrets, EMR clusters, ops host, alarm topic, buckets, log groups, VPN tunnels."
  value       = module.ecgdash
}
