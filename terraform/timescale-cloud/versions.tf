terraform {
  required_version = ">= 1.10.0, < 2.0.0"

  # Partial configuration: terraform init -backend-config=backend.hcl (another key than the env's).
  backend "s3" {}

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
    timescale = {
      source  = "timescale/timescale"
      version = "~> 2.8"
    }
  }
}
