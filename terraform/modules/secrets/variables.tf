variable "name" {
  description = "Prefix of the secrets (<name>/...) and suffix of the MSK secret (AmazonMSK_<name>)."
  type        = string
}

variable "kafka_username" {
  description = "The SCRAM user name the services authenticate to MSK with."
  type        = string
  default     = "sagaflow"
}

variable "generate_gateway_jwt_hs256" {
  description = "Generate an HS256 secret for the gateway (dev). Off: an operator puts the RS256 public key (prod)."
  type        = bool
  default     = false
}

variable "recovery_window_in_days" {
  description = "Days a deleted secret can still be restored (0 deletes at once; 7-30 otherwise)."
  type        = number
  default     = 30

  validation {
    condition     = var.recovery_window_in_days == 0 || (var.recovery_window_in_days >= 7 && var.recovery_window_in_days <= 30)
    error_message = "recovery_window_in_days must be 0 or 7-30."
  }
}
