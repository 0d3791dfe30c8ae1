# The role GitHub Actions assumes (through OIDC) to deploy this environment, and nothing else.

locals {
  oidc_provider_arn = var.github_oidc_provider_arn != "" ? var.github_oidc_provider_arn : "arn:${local.partition}:iam::${local.account_id}:oidc-provider/token.actions.githubusercontent.com"
  own_resources = [
    "arn:${local.partition}:lambda:${local.region}:${local.account_id}:function:${local.prefix}*",
    "arn:${local.partition}:s3:::${local.prefix}*",
    "arn:${local.partition}:dynamodb:${local.region}:${local.account_id}:table/${local.prefix}*",
    "arn:${local.partition}:sqs:${local.region}:${local.account_id}:${local.prefix}*",
    "arn:${local.partition}:sns:${local.region}:${local.account_id}:${local.prefix}*",
    "arn:${local.partition}:events:${local.region}:${local.account_id}:rule/${local.prefix}*",
    "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/aws/lambda/${local.prefix}*",
    "arn:${local.partition}:iam::${local.account_id}:role/${local.prefix}*",
    "arn:${local.partition}:cloudwatch:${local.region}:${local.account_id}:alarm:${local.prefix}*",
    "arn:${local.partition}:secretsmanager:${local.region}:${local.account_id}:secret:${local.prefix}*",
    "arn:${local.partition}:budgets::${local.account_id}:budget/${local.prefix}*",
    "arn:${local.partition}:cloudwatch::${local.account_id}:dashboard/${local.prefix}*",
  ]
  # IAM matches an ARN's resource part as one string, colons included: ":<env>-" and "/<env>-"
  # anchor the prefix wherever it starts (bucket, queue, topic; table/, rule/, role/; function:,
  # alarm:, secret:), so denying "a" never matches another env "xa-…".
  environment_arns = {
    for other in var.isolated_from : other => [
      "arn:${local.partition}:*:*:*:${other}-*",
      "arn:${local.partition}:*:*:*:*/${other}-*",
      "arn:${local.partition}:*:*:*:*:${other}-*",
      "arn:${local.partition}:logs:*:*:log-group:/aws/lambda/${other}-*",
    ]
  }
  foreign_resources = flatten(values(local.environment_arns))
  foreign_state     = [for other in var.isolated_from : "arn:${local.partition}:s3:::${var.state_bucket}/${other}/*"]
  # Promotion reads the source environment's validated bytes and the ledger entries naming them.
  source_reads     = ["s3:GetObject", "dynamodb:GetItem", "dynamodb:Query", "dynamodb:DescribeTable"]
  unread_resources = concat(local.foreign_state, flatten([for other, arns in local.environment_arns : arns if other != var.promotes_from]))
  source_ledger    = "arn:${local.partition}:dynamodb:${local.region}:${local.account_id}:table/${var.promotes_from}-pipeline-ledger"
  source_packages  = "arn:${local.partition}:s3:::${var.promotes_from}-${var.project}-packages-${local.account_id}/*"
}

data "aws_iam_policy_document" "deployer_trust" {
  statement {
    sid     = "GitHubEnvironmentOnly"
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = [local.oidc_provider_arn]
    }
    condition {
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:aud"
      values   = ["sts.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:sub"
      values   = [for name in var.github_environments : "repo:${var.github_repository}:environment:${name}"]
    }
  }
}

resource "aws_iam_role" "deployer" {
  name                 = "${local.prefix}deployer"
  description          = "Assumed by GitHub Actions in the ${var.environment} environment to deploy it."
  assume_role_policy   = data.aws_iam_policy_document.deployer_trust.json
  max_session_duration = 3600
}

data "aws_iam_policy_document" "deployer" {
  #checkov:skip=CKV_AWS_356:The one NotAction statement is a Deny (NeverChangeOtherEnvironments); checkov reads it as an Allow of everything
  statement {
    sid       = "ManageOwnResources"
    actions   = ["lambda:*", "s3:*", "dynamodb:*", "sqs:*", "sns:*", "events:*", "logs:*", "cloudwatch:*", "budgets:*", "secretsmanager:DescribeSecret", "secretsmanager:GetResourcePolicy"]
    resources = concat(local.own_resources, [for arn in local.own_resources : "${arn}/*"], [for arn in local.own_resources : "${arn}:*"])
  }

  statement {
    sid       = "ManageOwnRoles"
    actions   = ["iam:GetRole", "iam:CreateRole", "iam:DeleteRole", "iam:UpdateRole", "iam:TagRole", "iam:UntagRole", "iam:GetRolePolicy", "iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies", "iam:ListInstanceProfilesForRole", "iam:UpdateAssumeRolePolicy"]
    resources = ["arn:${local.partition}:iam::${local.account_id}:role/${local.prefix}*"]
  }

  statement {
    sid       = "PassOwnRolesToLambda"
    actions   = ["iam:PassRole"]
    resources = ["arn:${local.partition}:iam::${local.account_id}:role/${local.prefix}*"]
    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["lambda.amazonaws.com"]
    }
  }

  statement {
    sid       = "ReadDashboardKeyForVerification"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = ["arn:${local.partition}:secretsmanager:${local.region}:${local.account_id}:secret:${local.prefix}dashboard-api-key-*"]
  }

  statement {
    sid       = "EventSourceMappingsOfOwnFunctions"
    actions   = ["lambda:CreateEventSourceMapping", "lambda:UpdateEventSourceMapping", "lambda:DeleteEventSourceMapping", "lambda:GetEventSourceMapping"]
    resources = ["*"] # mappings are named by UUID; the condition scopes them to our functions
    condition {
      test     = "ArnLike"
      variable = "lambda:FunctionArn"
      values   = ["arn:${local.partition}:lambda:${local.region}:${local.account_id}:function:${local.prefix}*"]
    }
  }

  statement {
    sid       = "TagOwnEventSourceMappings"
    actions   = ["lambda:ListTags", "lambda:TagResource", "lambda:UntagResource"]
    resources = ["arn:${local.partition}:lambda:${local.region}:${local.account_id}:event-source-mapping:*"] # named by UUID, and tag calls take no lambda:FunctionArn
  }

  statement {
    sid       = "DescribeAwsManagedKeys"
    actions   = ["kms:DescribeKey"]
    resources = ["arn:${local.partition}:kms:${local.region}:${local.account_id}:key/*"]
    condition {
      test     = "ForAnyValue:StringLike"
      variable = "kms:ResourceAliases"
      values   = ["alias/aws/*"] # the provider reads the AWS managed keys it encrypts with
    }
  }

  statement {
    sid       = "OwnTerraformState"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = ["arn:${local.partition}:s3:::${var.state_bucket}/${var.environment}/*"]
  }

  statement {
    sid       = "ListOwnTerraformState"
    actions   = ["s3:ListBucket"]
    resources = ["arn:${local.partition}:s3:::${var.state_bucket}"]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      # The S3 backend also lists "env:/", where named workspaces would live (names, not state).
      values = ["${var.environment}/*", "env:/*"]
    }
  }

  statement {
    sid       = "OwnStateLock"
    actions   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"]
    resources = ["arn:${local.partition}:dynamodb:${local.region}:${local.account_id}:table/${var.lock_table}"]
    condition {
      test     = "ForAllValues:StringLike"
      variable = "dynamodb:LeadingKeys"
      values   = ["${var.state_bucket}/${var.environment}/*"]
    }
  }

  statement {
    sid       = "ReadOnlyDiscovery"
    actions   = ["sts:GetCallerIdentity", "lambda:ListEventSourceMappings", "lambda:GetAccountSettings", "cloudwatch:DescribeAlarms", "logs:DescribeLogGroups", "secretsmanager:ListSecrets", "tag:GetResources"]
    resources = ["*"] # these calls have no resource-level permissions
  }

  # `./pipeline rotate-secret --env <env> dashboard`: a new AWSCURRENT value, the old one kept as
  # AWSPREVIOUS (the dashboard accepts both). The NewsAPI key is NewsAPI's to issue.
  statement {
    sid       = "RotateDashboardKey"
    actions   = ["secretsmanager:PutSecretValue"]
    resources = ["arn:${local.partition}:secretsmanager:${local.region}:${local.account_id}:secret:${local.prefix}dashboard-api-key-*"]
  }

  dynamic "statement" {
    for_each = var.promotes_from == "" ? [] : [1]
    content {
      sid       = "ReadPromotionSourceArtifacts"
      actions   = ["s3:GetObject"]
      resources = [local.source_packages]
    }
  }

  dynamic "statement" {
    for_each = var.promotes_from == "" ? [] : [1]
    content {
      sid       = "ReadPromotionSourceLedger"
      actions   = ["dynamodb:GetItem", "dynamodb:Query"]
      resources = [local.source_ledger]
      condition {
        test     = "ForAllValues:StringEquals"
        variable = "dynamodb:LeadingKeys"
        values   = ["artifact", "validated"]
      }
    }
  }

  dynamic "statement" {
    for_each = var.promotes_from == "" ? [] : [1]
    content {
      sid       = "FindPromotionSourceLedger"
      actions   = ["dynamodb:DescribeTable"]
      resources = [local.source_ledger]
    }
  }

  # Every write to another environment, and any read but the promotion's above.
  statement {
    sid         = "NeverChangeOtherEnvironments"
    effect      = "Deny"
    not_actions = local.source_reads
    resources   = length(local.foreign_resources) > 0 ? concat(local.foreign_resources, local.foreign_state) : ["arn:${local.partition}:s3:::${var.state_bucket}/none"]
  }

  statement {
    sid       = "NeverReadOtherEnvironments"
    effect    = "Deny"
    actions   = local.source_reads
    resources = length(local.unread_resources) > 0 ? local.unread_resources : ["arn:${local.partition}:s3:::${var.state_bucket}/none"]
  }
}

resource "aws_iam_role_policy" "deployer" {
  name   = "${local.prefix}deployer"
  role   = aws_iam_role.deployer.id
  policy = data.aws_iam_policy_document.deployer.json
}
