output "endpoints" {
  description = "host:port of each instance, by key (shared, or the service name)."
  value       = { for key, db in aws_db_instance.this : key => db.endpoint }
}

output "addresses" {
  description = "Host name of each instance, by key: the chart's postgres.host (or services.<name>.database.host)."
  value       = { for key, db in aws_db_instance.this : key => db.address }
}

output "master_user_secret_arns" {
  description = "ARN of the RDS-managed Secrets Manager secret holding each instance's master credentials."
  value       = { for key, db in aws_db_instance.this : key => db.master_user_secret[0].secret_arn }
}

output "security_group_id" {
  description = "The instances' security group."
  value       = aws_security_group.this.id
}

output "kms_key_arn" {
  description = "The key encrypting storage, Performance Insights and the master secrets."
  value       = aws_kms_key.this.arn
}
