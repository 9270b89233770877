# Sagaflow for development on AWS: the shape of examples/prod, smaller and cheaper
# (two zones, one NAT gateway, burstable instances, single-AZ RDS without deletion
# protection, secrets deleted at once). Encryption and network isolation are the
# same as in production.

provider "aws" {
  region = var.region

  default_tags {
    tags = {
      Project     = "sagaflow"
      Environment = "dev"
      ManagedBy   = "terraform"
    }
  }
}

locals {
  name = "sagaflow-dev"
}

module "network" {
  source = "../../modules/network"

  name               = local.name
  cidr_block         = var.vpc_cidr
  availability_zones = var.availability_zones
  single_nat_gateway = true
}

module "eks" {
  source = "../../modules/eks"

  name                    = local.name
  kubernetes_version      = "1.31"
  subnet_ids              = module.network.private_subnet_ids
  endpoint_public_access  = false
  admin_principal_arns    = var.admin_principal_arns
  deployer_principal_arns = { github = module.iam.github_deploy_role_arn }
  deployer_namespaces     = ["sagaflow-dev"]
  node_instance_types     = ["t3.large"]
  node_capacity_type      = "SPOT"
  node_min_size           = 2
  node_max_size           = 4
  node_desired_size       = 2
}

module "secrets" {
  source = "../../modules/secrets"

  name                       = local.name
  generate_gateway_jwt_hs256 = true
  recovery_window_in_days    = 0
}

module "msk" {
  source = "../../modules/msk"

  name                       = local.name
  vpc_id                     = module.network.vpc_id
  vpc_cidr_block             = module.network.vpc_cidr_block
  subnet_ids                 = module.network.data_subnet_ids
  allowed_security_group_ids = [module.eks.cluster_security_group_id]
  broker_count               = 2
  broker_instance_type       = "kafka.t3.small"
  broker_volume_size_gb      = 20
  scram_secret_arns          = [module.secrets.kafka_secret_arn]
}

module "rds" {
  source = "../../modules/rds"

  name                       = local.name
  vpc_id                     = module.network.vpc_id
  subnet_ids                 = module.network.data_subnet_ids
  allowed_security_group_ids = [module.eks.cluster_security_group_id]
  per_service_instances      = var.per_service_databases
  instance_class             = "db.t4g.medium"
  allocated_storage_gb       = 20
  max_allocated_storage_gb   = 100
  multi_az                   = false
  deletion_protection        = false
  backup_retention_days      = 3
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
  github_environment          = "dev"
  create_github_oidc_provider = var.create_github_oidc_provider
  eks_cluster_arn             = module.eks.cluster_arn
}
