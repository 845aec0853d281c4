# The private path between the hospital network and this VPC (var.hospital_network). Hospital
# ECG gateways produce to MSK (SASL/SCRAM over TLS on 9096) and users open Grafana's internal load
# balancer over it; nothing here is reachable from the internet. Routes to the hospital CIDRs are
# added to every private route table.

locals {
  use_tgw = var.hospital_network.transit_gateway_id != null
  use_vgw = var.hospital_network.vpn != null || var.hospital_network.direct_connect_gateway_id != null
  use_vpn = var.hospital_network.vpn != null
  tgw_routes = local.use_tgw ? {
    for pair in setproduct(range(local.az_count), var.hospital_network.cidrs) : "${pair[0]}|${pair[1]}" => {
      table = pair[0]
      cidr  = pair[1]
    }
  } : {}
}

# --- Transit Gateway (the hospital's or the organisation's existing one) -------------------------

resource "aws_ec2_transit_gateway_vpc_attachment" "hospital" {
  count = local.use_tgw ? 1 : 0

  transit_gateway_id = var.hospital_network.transit_gateway_id
  vpc_id             = aws_vpc.this.id
  subnet_ids         = aws_subnet.private[*].id
  dns_support        = "enable"

  tags = { Name = "${var.name}-hospital" }
}

resource "aws_route" "to_hospital_via_tgw" {
  for_each = local.tgw_routes

  route_table_id         = aws_route_table.private[each.value.table].id
  destination_cidr_block = each.value.cidr
  transit_gateway_id     = var.hospital_network.transit_gateway_id

  depends_on = [aws_ec2_transit_gateway_vpc_attachment.hospital]
}

# --- Virtual private gateway: site-to-site VPN and/or Direct Connect ------------------------------

resource "aws_vpn_gateway" "hospital" {
  count = local.use_vgw ? 1 : 0

  vpc_id          = aws_vpc.this.id
  amazon_side_asn = var.hospital_network.amazon_side_asn

  tags = { Name = "${var.name}-hospital" }
}

# Routes learnt by the gateway (BGP, or the VPN's static routes below) appear in the private tables.
resource "aws_vpn_gateway_route_propagation" "private" {
  count = local.use_vgw ? local.az_count : 0

  vpn_gateway_id = aws_vpn_gateway.hospital[0].id
  route_table_id = aws_route_table.private[count.index].id
}

resource "aws_customer_gateway" "hospital" {
  count = local.use_vpn ? 1 : 0

  bgp_asn    = tostring(var.hospital_network.vpn.bgp_asn)
  ip_address = var.hospital_network.vpn.customer_gateway_ip
  type       = "ipsec.1"

  tags = { Name = "${var.name}-hospital" }
}

resource "aws_vpn_connection" "hospital" {
  count = local.use_vpn ? 1 : 0

  vpn_gateway_id      = aws_vpn_gateway.hospital[0].id
  customer_gateway_id = aws_customer_gateway.hospital[0].id
  type                = "ipsec.1"
  static_routes_only  = var.hospital_network.vpn.static_routes_only

  # IKEv2 only (IKEv1 is AWS's default for compatibility).
  tunnel1_ike_versions = ["ikev2"]
  tunnel2_ike_versions = ["ikev2"]

  tags = { Name = "${var.name}-hospital" }
}

resource "aws_vpn_connection_route" "hospital" {
  for_each = local.use_vpn && try(var.hospital_network.vpn.static_routes_only, false) ? toset(var.hospital_network.cidrs) : toset([])

  vpn_connection_id      = aws_vpn_connection.hospital[0].id
  destination_cidr_block = each.value
}

resource "aws_dx_gateway_association" "hospital" {
  count = var.hospital_network.direct_connect_gateway_id != null ? 1 : 0

  dx_gateway_id         = var.hospital_network.direct_connect_gateway_id
  associated_gateway_id = aws_vpn_gateway.hospital[0].id
  allowed_prefixes      = [var.cidr]
}
