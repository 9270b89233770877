variable "name" {
  description = "Prefix of the instances' identifiers (<name>-shared or <name>-<service>), key, groups and roles."
  type        = string
}

variable "vpc_id" {
  description = "The VPC of the instances."
  type        = string
}

variable "subnet_ids" {
  description = "Subnets of the DB subnet group (the data subnets, no route to the internet)."
  type        = list(string)
}

variable "allowed_security_group_ids" {
  description = "Security groups whose members may connect on 5432, e.g. the EKS cluster security group."
  type        = list(string)
}

variable "services" {
  description = "Sagaflow's services; each has its database sagaflow_<service>."
  type        = list(string)
  default     = ["gateway", "orchestrator", "inventory", "pricing", "payment", "order", "cart", "notification", "generation", "planner", "applications"]
}

variable "per_service_instances" {
  description = "One instance per service (isolation, independent scaling) instead of one shared instance with a database per service."
  type        = bool
  default     = false
}

variable "engine_version" {
  description = "PostgreSQL version (major.minor); the parameter group family follows the major version."
  type        = string
  default     = "16.4"
}

variable "instance_class" {
  description = "RDS instance class of every instance."
  type        = string
  default     = "db.r6g.large"
}

variable "allocated_storage_gb" {
  description = "Initial storage per instance, in GiB."
  type        = number
  default     = 50
}

variable "max_allocated_storage_gb" {
  description = "Storage autoscaling ceiling per instance, in GiB."
  type        = number
  default     = 500
}

variable "master_username" {
  description = "The master user (its password is generated and rotated by RDS in Secrets Manager). The chart's postgres.user."
  type        = string
  default     = "sagaflow_admin"
}

variable "multi_az" {
  description = "A synchronous standby in another zone."
  type        = bool
  default     = true
}

variable "deletion_protection" {
  description = "Refuse to delete the instances; when on, a final snapshot is taken on deletion too."
  type        = bool
  default     = true
}

variable "backup_retention_days" {
  description = "Days of automated backups (point-in-time recovery)."
  type        = number
  default     = 14

  validation {
    condition     = var.backup_retention_days >= 1
    error_message = "Backups must be kept at least one day."
  }
}

variable "force_ssl" {
  description = "Refuse connections without TLS (rds.force_ssl). Needs a sagaflow build whose sqlx has a TLS feature."
  type        = bool
  default     = true
}
