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
  ]
  # ":<env>-" and "/<env>-" anchor the prefix, so denying "a" never matches another env "xa-…".
  foreign_resources = flatten([
    for other in var.isolated_from : [
      "arn:${local.partition}:*:*:*:${other}-*",
      "arn:${local.partition}:*:*:*:*/${other}-*",
      "arn:${local.partition}:s3:::${var.state_bucket}/${other}/*",
    ]
  ])
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
      values   = ["${var.environment}/*"]
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

  statement {
    sid       = "NeverTouchOtherEnvironments"
    effect    = "Deny"
    actions   = ["*"]
    resources = length(local.foreign_resources) > 0 ? local.foreign_resources : ["arn:${local.partition}:s3:::${var.state_bucket}/none"]
  }
}

resource "aws_iam_role_policy" "deployer" {
  name   = "${local.prefix}deployer"
  role   = aws_iam_role.deployer.id
  policy = data.aws_iam_policy_document.deployer.json
}
