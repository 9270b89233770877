terraform {
  required_version = ">= 1.6.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.80.0, < 7.0.0"
    }
    random = {
      source  = "hashicorp/random"
      version = ">= 3.6.0, < 4.0.0"
    }
    tls = {
      source  = "hashicorp/tls"
      version = ">= 4.0.0, < 5.0.0"
    }
  }

  # State holds generated secrets: keep it in an encrypted S3 bucket with locking.
  #   terraform init -backend-config=backend.hcl
  # backend.hcl: bucket, key, region, encrypt = true, kms_key_id, use_lockfile = true
  backend "s3" {}
}
