output "kafka_secret_arn" {
  description = "ARN of the AmazonMSK_ secret (SCRAM user): pass it to the msk module."
  value       = aws_secretsmanager_secret.kafka.arn
}

output "gateway_jwt_secret_arn" {
  description = "ARN of the gateway's JWT key secret."
  value       = aws_secretsmanager_secret.gateway_jwt.arn
}

output "llm_secret_arn" {
  description = "ARN of the LLM provider keys secret."
  value       = aws_secretsmanager_secret.llm.arn
}

output "secret_arns" {
  description = "Every secret this module made, for the External Secrets reader role."
  value = [
    aws_secretsmanager_secret.kafka.arn,
    aws_secretsmanager_secret.gateway_jwt.arn,
    aws_secretsmanager_secret.llm.arn,
  ]
}

output "kms_key_arn" {
  description = "The key encrypting the secrets."
  value       = aws_kms_key.this.arn
}
