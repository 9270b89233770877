variable "name" {
  description = "Name prefix of every resource, and the EKS cluster name the subnets are tagged for (e.g. sagaflow-prod)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,30}$", var.name))
    error_message = "name must be 3-31 lowercase letters, digits or dashes, starting with a letter."
  }
}

variable "cidr_block" {
  description = "The VPC's IPv4 range; a /16 (split into public, private and data subnets per availability zone)."
  type        = string
  default     = "10.40.0.0/16"

  validation {
    condition     = can(cidrhost(var.cidr_block, 0)) && endswith(var.cidr_block, "/16")
    error_message = "cidr_block must be an IPv4 /16."
  }
}

variable "availability_zones" {
  description = "Zone names to place subnets in, in order (2 or 3; EKS needs at least 2, MSK one broker per zone)."
  type        = list(string)

  validation {
    condition     = length(var.availability_zones) >= 2 && length(var.availability_zones) <= 3
    error_message = "availability_zones must name 2 or 3 zones."
  }
}

variable "single_nat_gateway" {
  description = "One NAT gateway for all zones (cheaper, for dev) instead of one per zone (zone-independent egress, for prod)."
  type        = bool
  default     = false
}

variable "flow_logs_retention_days" {
  description = "Days to keep VPC flow logs in CloudWatch Logs."
  type        = number
  default     = 365
}
