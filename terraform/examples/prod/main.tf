# Sagaflow in production on AWS: a three-zone VPC, EKS, MSK (SASL/SCRAM over TLS),
# RDS for PostgreSQL (Multi-AZ, deletion protection), Secrets Manager and the IRSA
# role External Secrets uses to bring the secrets into the cluster.
# Then: helm upgrade --install sagaflow helm/sagaflow -f helm/sagaflow/values-prod.yaml
# with the endpoints from `terraform output helm_values` (deploy.yml does this).

provider "aws" {
  region = var.region

  default_tags {
    tags = {
      Project     = "sagaflow"
      Environment = "prod"
      ManagedBy   = "terraform"
    }
  }
}

locals {
  name = "sagaflow-prod"
}

module "network" {
  source = "../../modules/network"

  name               = local.name
  cidr_block         = var.vpc_cidr
  availability_zones = var.availability_zones
  single_nat_gateway = false
}

module "eks" {
  source = "../../modules/eks"

  name                    = local.name
  kubernetes_version      = "1.31"
  subnet_ids              = module.network.private_subnet_ids
  endpoint_public_access  = false
  admin_principal_arns    = var.admin_principal_arns
  deployer_principal_arns = { github = module.iam.github_deploy_role_arn }
  deployer_namespaces     = ["sagaflow"]
  node_instance_types     = ["m7i.large"]
  node_min_size           = 3
  node_max_size           = 12
  node_desired_size       = 3
}

module "secrets" {
  source = "../../modules/secrets"

  name                       = local.name
  generate_gateway_jwt_hs256 = false
  recovery_window_in_days    = 30
}

module "msk" {
  source = "../../modules/msk"

  name                       = local.name
  vpc_id                     = module.network.vpc_id
  vpc_cidr_block             = module.network.vpc_cidr_block
  subnet_ids                 = module.network.data_subnet_ids
  allowed_security_group_ids = [module.eks.cluster_security_group_id]
  broker_count               = 3
  broker_instance_type       = "kafka.m7g.large"
  broker_volume_size_gb      = 200
  scram_secret_arns          = [module.secrets.kafka_secret_arn]
}

module "rds" {
  source = "../../modules/rds"

  name                       = local.name
  vpc_id                     = module.network.vpc_id
  subnet_ids                 = module.network.data_subnet_ids
  allowed_security_group_ids = [module.eks.cluster_security_group_id]
  per_service_instances      = var.per_service_databases
  instance_class             = "db.r6g.large"
  multi_az                   = true
  deletion_protection        = true
  backup_retention_days      = 14
  force_ssl                  = true
}

module "iam" {
  source = "../../modules/iam"

  name              = local.name
  oidc_provider_arn = module.eks.oidc_provider_arn
  oidc_issuer       = module.eks.oidc_issuer

  roles = {
    external-secrets = {
      namespace       = "external-secrets"
      service_account = "external-secrets"
      statements = [
        {
          sid       = "ReadSagaflowSecrets"
          actions   = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
          resources = concat(module.secrets.secret_arns, values(module.rds.master_user_secret_arns))
        },
        {
          sid       = "DecryptSagaflowSecrets"
          actions   = ["kms:Decrypt"]
          resources = [module.secrets.kms_key_arn, module.rds.kms_key_arn]
        },
      ]
    }
  }

  github_repository           = var.github_repository
  github_environment          = "production"
  create_github_oidc_provider = var.create_github_oidc_provider
  eks_cluster_arn             = module.eks.cluster_arn
}
