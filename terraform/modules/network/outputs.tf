output "vpc_id" {
  description = "ID of the VPC."
  value       = aws_vpc.this.id
}

output "vpc_cidr" {
  description = "IPv4 CIDR of the VPC."
  value       = aws_vpc.this.cidr_block
}

# Handed out once the subnets can reach S3, the AWS APIs and the internet (routes, NAT, endpoints
# and their security group rule): nothing boots into a subnet that cannot yet fetch its packages.
output "private_subnet_ids" {
  description = "IDs of the private subnets, one per availability zone, for every workload."
  value       = aws_subnet.private[*].id

  depends_on = [
    aws_route_table_association.private,
    aws_nat_gateway.this,
    aws_vpc_endpoint.s3,
    aws_vpc_endpoint.interface,
    aws_vpc_security_group_ingress_rule.endpoints_https,
  ]
}

output "public_subnet_ids" {
  description = "IDs of the public subnets (NAT gateways only)."
  value       = aws_subnet.public[*].id
}

output "availability_zones" {
  description = "Availability zones used, in subnet order."
  value       = local.azs
}

output "private_route_table_ids" {
  description = "IDs of the private route tables."
  value       = aws_route_table.private[*].id
}

output "vpn_tunnel_addresses" {
  description = "Outside IP addresses of the two VPN tunnels for the hospital's customer gateway (empty without a VPN); the pre-shared keys are in the AWS console (VPN connection > Download configuration)."
  value       = [for c in aws_vpn_connection.hospital : [c.tunnel1_address, c.tunnel2_address]]
}

output "transit_gateway_attachment_id" {
  description = "ID of the Transit Gateway attachment (null without one): the TGW owner routes the hospital CIDRs to it."
  value       = one(aws_ec2_transit_gateway_vpc_attachment.hospital[*].id)
}
