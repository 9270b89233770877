output "cluster_arn" {
  description = "ARN of the MSK cluster."
  value       = aws_msk_cluster.this.arn
}

output "bootstrap_brokers_sasl_scram" {
  description = "host:port list for SASL/SCRAM over TLS: the chart's kafka.bootstrapServers."
  value       = aws_msk_cluster.this.bootstrap_brokers_sasl_scram
}

output "security_group_id" {
  description = "The brokers' security group."
  value       = aws_security_group.this.id
}

output "kms_key_arn" {
  description = "The key encrypting broker storage and logs."
  value       = aws_kms_key.this.arn
}
