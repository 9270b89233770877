variable "name" {
  description = "Prefix of the role names (<name>-<role key>)."
  type        = string
}

variable "oidc_provider_arn" {
  description = "ARN of the EKS cluster's IAM OIDC provider (module eks output oidc_provider_arn)."
  type        = string
}

variable "oidc_issuer" {
  description = "The cluster's OIDC issuer without https:// (module eks output oidc_issuer)."
  type        = string
}

variable "roles" {
  description = "Roles by key: the namespace and service account trusted, and the policy statements granted (explicit actions and resources)."
  type = map(object({
    namespace       = string
    service_account = string
    statements = list(object({
      sid       = string
      actions   = list(string)
      resources = list(string)
    }))
  }))

  validation {
    condition = alltrue(flatten([
      for role in values(var.roles) : [
        for statement in role.statements : !contains(statement.actions, "*") && !contains(statement.resources, "*")
      ]
    ]))
    error_message = "Statements must name their actions and resources (no \"*\")."
  }
}

variable "github_repository" {
  description = "owner/name of the GitHub repository whose deploy workflow gets a role; null: no deploy role."
  type        = string
  default     = null
}

variable "github_environment" {
  description = "The GitHub environment (deploy.yml's `environment:`) the deploy role is limited to."
  type        = string
  default     = "production"
}

variable "create_github_oidc_provider" {
  description = "Create the account's GitHub OIDC provider (there is one per account; off: use the existing one)."
  type        = bool
  default     = true
}

variable "eks_cluster_arn" {
  description = "The cluster the deploy role may describe (module eks; required with github_repository)."
  type        = string
  default     = null
}
