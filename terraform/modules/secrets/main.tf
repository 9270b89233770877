# Secrets Manager secrets of Sagaflow, encrypted with a customer-managed key:
#   AmazonMSK_<name>   the Kafka SCRAM user (generated), associated with MSK
#   <name>/gateway-jwt the gateway's JWT verification key: an HS256 secret generated
#                      here (dev), or an RS256 public key an operator puts (prod)
#   <name>/llm         LLM provider keys, put by an operator (never in Terraform)
# External Secrets copies them into Kubernetes Secrets the chart refers to by name.
#
# Generated values live in Terraform state too: keep state in an encrypted,
# access-controlled backend (see terraform/README.md).

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

resource "aws_kms_key" "this" {
  description             = "${var.name} application secrets"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.key.json
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.name}-secrets"
  target_key_id = aws_kms_key.this.key_id
}

data "aws_iam_policy_document" "key" {
  # A KMS key policy: "*" as resource means this key only, and kms:* for the account
  # root is AWS's default key policy (it delegates to IAM policies; without it the
  # key becomes unmanageable).
  #checkov:skip=CKV_AWS_109:Key policy; the account root statement is AWS's default key policy and Resource "*" is the key itself
  #checkov:skip=CKV_AWS_111:Key policy; the account root statement is AWS's default key policy and Resource "*" is the key itself
  #checkov:skip=CKV_AWS_356:Key policy; Resource "*" in a key policy is the key itself and cannot be narrowed
  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }
}

# ---- Kafka SCRAM user ---------------------------------------------------------------

# No line breaks, equals signs or quotes: the password travels inside KAFKA_PROPERTIES
# (key=value pairs, one per line in the Helm chart).
resource "random_password" "kafka" {
  length           = 40
  special          = true
  override_special = "!#%*+-.:;<>?@^_~"
}

resource "aws_secretsmanager_secret" "kafka" {
  #checkov:skip=CKV2_AWS_57:No rotation Lambda: a new SCRAM password must reach every client at once; rotated by the runbook in terraform/README.md (new version, External Secrets sync, Reloader restart)
  # MSK only accepts SCRAM secrets named AmazonMSK_* under a customer-managed key.
  name                    = "AmazonMSK_${var.name}"
  description             = "SCRAM user of ${var.name}'s services on MSK"
  kms_key_id              = aws_kms_key.this.arn
  recovery_window_in_days = var.recovery_window_in_days
}

resource "aws_secretsmanager_secret_version" "kafka" {
  secret_id = aws_secretsmanager_secret.kafka.id
  secret_string = jsonencode({
    username = var.kafka_username
    password = random_password.kafka.result
  })
}

data "aws_iam_policy_document" "kafka_secret" {
  statement {
    sid       = "AWSKafkaResourcePolicy"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [aws_secretsmanager_secret.kafka.arn]

    principals {
      type        = "Service"
      identifiers = ["kafka.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_secretsmanager_secret_policy" "kafka" {
  secret_arn = aws_secretsmanager_secret.kafka.arn
  policy     = data.aws_iam_policy_document.kafka_secret.json
}

# ---- gateway JWT --------------------------------------------------------------------

resource "random_password" "jwt" {
  count = var.generate_gateway_jwt_hs256 ? 1 : 0

  length  = 64
  special = false
}

resource "aws_secretsmanager_secret" "gateway_jwt" {
  #checkov:skip=CKV2_AWS_57:The verification key is rotated by the token issuer that owns the signing key; Secrets Manager cannot rotate it on its own
  name                    = "${var.name}/gateway-jwt"
  description             = "JWT verification key of ${var.name}'s gateway (hs256-secret or rs256-public.pem)"
  kms_key_id              = aws_kms_key.this.arn
  recovery_window_in_days = var.recovery_window_in_days
}

resource "aws_secretsmanager_secret_version" "gateway_jwt" {
  count = var.generate_gateway_jwt_hs256 ? 1 : 0

  secret_id     = aws_secretsmanager_secret.gateway_jwt.id
  secret_string = jsonencode({ "hs256-secret" = random_password.jwt[0].result })
}

# ---- LLM providers ------------------------------------------------------------------

# Created empty: an operator puts {"llm.env": "OPENAI_API_KEY=...\nANTHROPIC_API_KEY=..."}
# (or openai-api-key / anthropic-api-key) with the AWS CLI, so keys never pass
# through Terraform.
resource "aws_secretsmanager_secret" "llm" {
  #checkov:skip=CKV2_AWS_57:Third-party LLM API keys are rotated at the provider; Secrets Manager cannot issue them
  name                    = "${var.name}/llm"
  description             = "LLM provider API keys of ${var.name}'s generation service"
  kms_key_id              = aws_kms_key.this.arn
  recovery_window_in_days = var.recovery_window_in_days
}
