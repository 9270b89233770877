variable "name" {
  description = "The cluster's name (also the prefix of its IAM roles, key alias and log group)."
  type        = string
}

variable "kubernetes_version" {
  description = "Kubernetes minor version of the control plane and nodes (the Helm chart is checked against 1.31)."
  type        = string
  default     = "1.31"
}

variable "subnet_ids" {
  description = "Private subnets for the control plane's network interfaces and the nodes (at least two zones)."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "EKS needs subnets in at least two availability zones."
  }
}

variable "endpoint_public_access" {
  description = "Expose the Kubernetes API endpoint on the internet as well (restricted to public_access_cidrs). Off: reach it from inside the VPC (VPN, SSM, a self-hosted runner)."
  type        = bool
  default     = false
}

variable "public_access_cidrs" {
  description = "Ranges allowed to reach a public API endpoint; never 0.0.0.0/0."
  type        = list(string)
  default     = []

  validation {
    condition     = !contains(var.public_access_cidrs, "0.0.0.0/0")
    error_message = "public_access_cidrs must not open the API endpoint to the whole internet."
  }
}

variable "admin_principal_arns" {
  description = "IAM roles or users given cluster-admin through EKS access entries."
  type        = list(string)
  default     = []
}

variable "deployer_principal_arns" {
  description = "IAM roles by a static key (e.g. github = the GitHub Actions deploy role) allowed to edit objects in deployer_namespaces only."
  type        = map(string)
  default     = {}
}

variable "deployer_namespaces" {
  description = "Namespaces the deployer principals may manage."
  type        = list(string)
  default     = ["sagaflow"]
}

variable "node_instance_types" {
  description = "EC2 instance types of the managed node group."
  type        = list(string)
  default     = ["m7i.large"]
}

variable "node_capacity_type" {
  description = "ON_DEMAND or SPOT."
  type        = string
  default     = "ON_DEMAND"

  validation {
    condition     = contains(["ON_DEMAND", "SPOT"], var.node_capacity_type)
    error_message = "node_capacity_type must be ON_DEMAND or SPOT."
  }
}

variable "node_min_size" {
  description = "Fewest nodes in the group."
  type        = number
  default     = 3
}

variable "node_max_size" {
  description = "Most nodes in the group."
  type        = number
  default     = 9
}

variable "node_desired_size" {
  description = "Nodes at creation (the autoscaler owns it afterwards)."
  type        = number
  default     = 3
}

variable "node_disk_size_gb" {
  description = "Root volume size of each node, in GiB (encrypted gp3)."
  type        = number
  default     = 50
}

variable "log_retention_days" {
  description = "Days to keep control-plane logs."
  type        = number
  default     = 365
}
