# mode = "timescale_cloud": a Timescale Cloud service (TimescaleDB managed by Timescale). The
# provider is configured in the env with project id and client credentials (never committed).
# The service is reached over TLS on its public endpoint unless a Timescale VPC is peered with this
# VPC (Timescale console or the provider's VPC/peering resources; see terraform/README.md).

resource "timescale_service" "this" {
  count = local.is_cloud ? 1 : 0

  name        = var.name
  milli_cpu   = var.timescale_milli_cpu
  memory_gb   = var.timescale_memory_gb
  region_code = var.timescale_region_code
}
