output "role_arns" {
  description = "ARN of each role by key: the eks.amazonaws.com/role-arn annotation of its service account."
  value       = { for key, role in aws_iam_role.this : key => role.arn }
}

output "github_deploy_role_arn" {
  description = "ARN of the GitHub Actions deploy role (the AWS_DEPLOY_ROLE_ARN environment secret), or null."
  value       = local.github_enabled ? aws_iam_role.github_deploy[0].arn : null
}
