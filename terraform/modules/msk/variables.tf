variable "name" {
  description = "The MSK cluster's name and the prefix of its key, security group and log group."
  type        = string
}

variable "vpc_id" {
  description = "The VPC of the brokers."
  type        = string
}

variable "vpc_cidr_block" {
  description = "The VPC's range: the brokers' only egress destination."
  type        = string
}

variable "subnet_ids" {
  description = "Subnets of the brokers, one per availability zone (the data subnets)."
  type        = list(string)
}

variable "allowed_security_group_ids" {
  description = "Security groups whose members may connect to the brokers' SASL/SCRAM TLS port (9096), e.g. the EKS cluster security group."
  type        = list(string)
}

variable "kafka_version" {
  description = "Apache Kafka version of the brokers."
  type        = string
  default     = "3.6.0"
}

variable "broker_count" {
  description = "Number of brokers; a multiple of the number of subnets. Three or more gives min.insync.replicas=2."
  type        = number
  default     = 3
}

variable "broker_instance_type" {
  description = "MSK broker instance type."
  type        = string
  default     = "kafka.m7g.large"
}

variable "broker_volume_size_gb" {
  description = "EBS storage per broker, in GiB."
  type        = number
  default     = 100
}

variable "scram_secret_arns" {
  description = "ARNs of the AmazonMSK_* Secrets Manager secrets holding SCRAM users ({\"username\", \"password\"})."
  type        = list(string)
  default     = []
}

variable "log_retention_days" {
  description = "Days to keep broker logs."
  type        = number
  default     = 365
}
