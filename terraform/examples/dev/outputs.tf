output "cluster_name" {
  description = "EKS cluster name (aws eks update-kubeconfig --name ...; the EKS_CLUSTER_NAME variable of deploy.yml)."
  value       = module.eks.cluster_name
}

output "deploy_role_arn" {
  description = "Role for deploy.yml (the AWS_DEPLOY_ROLE_ARN secret of the dev environment)."
  value       = module.iam.github_deploy_role_arn
}

output "external_secrets_role_arn" {
  description = "IRSA role of the External Secrets Operator's service account."
  value       = module.iam.role_arns["external-secrets"]
}

output "helm_values" {
  description = "The environment-specific chart values (the HELM_VALUES secret of a dev environment)."
  value = {
    kafka = {
      bootstrapServers = module.msk.bootstrap_brokers_sasl_scram
    }
    postgres = {
      host = values(module.rds.addresses)[0]
    }
    # Per-service instances: each service's host and master-password Secret.
    services = {
      for service, address in module.rds.addresses : service => {
        database = { host = address, existingSecret = "sagaflow-postgres-${service}" }
      } if var.per_service_databases
    }
  }
}

output "secret_arns" {
  description = "Secrets Manager ARNs External Secrets reads: Kafka SCRAM, gateway JWT, LLM keys, RDS master credentials."
  value = {
    kafka       = module.secrets.kafka_secret_arn
    gateway_jwt = module.secrets.gateway_jwt_secret_arn
    llm         = module.secrets.llm_secret_arn
    postgres    = module.rds.master_user_secret_arns
  }
}
