variable "region" {
  description = "AWS region of the environment."
  type        = string
  default     = "eu-west-1"
}

variable "availability_zones" {
  description = "Zones of the subnets (they must be in region)."
  type        = list(string)
  default     = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
}

variable "vpc_cidr" {
  description = "The VPC's /16."
  type        = string
  default     = "10.40.0.0/16"
}

variable "admin_principal_arns" {
  description = "IAM roles given cluster-admin on EKS (the platform team's SSO role)."
  type        = list(string)
}

variable "github_repository" {
  description = "owner/name of the repository whose deploy.yml deploys here."
  type        = string
}

variable "create_github_oidc_provider" {
  description = "Create the account's GitHub OIDC provider (off when the account already has one)."
  type        = bool
  default     = true
}

variable "per_service_databases" {
  description = "One RDS instance per service instead of one shared instance with a database per service."
  type        = bool
  default     = false
}
