# Data and messaging: the items table, the analysis fan-out, the alerts topic and the secrets.

resource "aws_dynamodb_table" "items" {
  #checkov:skip=CKV_AWS_119:Encrypted at rest with the AWS-owned key; items are public news headlines, a customer-managed key adds cost and key management
  name         = "${local.prefix}items"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "id"

  attribute {
    name = "id"
    type = "S"
  }

  attribute {
    name = "status"
    type = "S"
  }

  attribute {
    name = "published_at"
    type = "S"
  }

  global_secondary_index {
    name            = "by-status-published"
    hash_key        = "status"
    range_key       = "published_at"
    projection_type = "ALL"
  }

  point_in_time_recovery {
    enabled = var.point_in_time_recovery
  }

  server_side_encryption {
    enabled = true
  }
}

resource "aws_sns_topic" "analysis" {
  name              = "${local.prefix}analysis"
  kms_master_key_id = "alias/aws/sns"
}

# Not under SSE: CloudWatch alarms cannot publish to a topic encrypted with the AWS managed key
# (its key policy, which nobody can edit, does not let cloudwatch.amazonaws.com use it), so under
# `alias/aws/sns` no alarm would ever reach anyone. The messages carry alarm names, a sha and a
# reason, nothing secret; a customer managed key would also give the deployer key-admin rights.
resource "aws_sns_topic" "alerts" {
  #checkov:skip=CKV_AWS_26:CloudWatch and Budgets cannot publish to a topic under the AWS managed key, and the notifications hold nothing secret
  name = "${local.prefix}alerts"
}

# The account's own principals are allowed by their IAM policies; the services that notify on the
# account's behalf need the topic's word, limited to this account.
data "aws_iam_policy_document" "alerts_topic" {
  statement {
    sid       = "AlarmsAndBudgetsOfThisAccount"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alerts.arn]
    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com", "budgets.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_sns_topic_policy" "alerts" {
  arn    = aws_sns_topic.alerts.arn
  policy = data.aws_iam_policy_document.alerts_topic.json
}

resource "aws_sns_topic_subscription" "alerts_email" {
  count     = var.alert_email == "" ? 0 : 1
  topic_arn = aws_sns_topic.alerts.arn
  protocol  = "email"
  endpoint  = var.alert_email
}

# The chat or paging webhook. Its URL usually embeds a token, so it comes from a secret, never a
# tfvars file. SNS delivers only once the endpoint confirms the subscription; waiting for that
# makes an endpoint that never confirms (a bare Slack incoming webhook) fail the apply that adds
# it, instead of leaving a subscription that silently delivers nothing.
resource "aws_sns_topic_subscription" "alerts_webhook" {
  count                           = nonsensitive(var.alert_webhook_url == "") ? 0 : 1
  topic_arn                       = aws_sns_topic.alerts.arn
  protocol                        = nonsensitive(startswith(var.alert_webhook_url, "https://") ? "https" : "http")
  endpoint                        = var.alert_webhook_url
  endpoint_auto_confirms          = true
  confirmation_timeout_in_minutes = 5
}

locals {
  analysis_queue_name = "${local.prefix}analysis"
  # Built, not read from the queue, so that the queue's own policy can name it.
  analysis_queue_arn = "arn:${local.partition}:sqs:${local.region}:${local.account_id}:${local.analysis_queue_name}"
}

resource "aws_sqs_queue" "analysis_dlq" {
  name                      = "${local.prefix}analysis-dlq"
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = true
}

# The policy and the redrive policy go in the CreateQueue call itself. After writing a queue's
# attributes the provider reads them until six reads 5 s apart agree (about 25 s, on AWS as in
# the emulator); as separate resources, one after the other, they added 50 s to a first apply.
resource "aws_sqs_queue" "analysis" {
  name                       = local.analysis_queue_name
  visibility_timeout_seconds = local.analysis_timeout * 6 # AWS's advice for event source mappings
  message_retention_seconds  = 345600
  sqs_managed_sse_enabled    = true
  policy                     = data.aws_iam_policy_document.analysis_queue.json
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.analysis_dlq.arn
    maxReceiveCount     = 3
  })
}

# They were separate resources before; an environment applied then keeps its attributes, now
# owned by the queue, instead of having them deleted.
removed {
  from = aws_sqs_queue_redrive_policy.analysis
  lifecycle {
    destroy = false
  }
}

removed {
  from = aws_sqs_queue_policy.analysis
  lifecycle {
    destroy = false
  }
}

data "aws_iam_policy_document" "analysis_queue" {
  statement {
    sid       = "AnalysisTopicSends"
    actions   = ["sqs:SendMessage"]
    resources = [local.analysis_queue_arn]
    principals {
      type        = "Service"
      identifiers = ["sns.amazonaws.com"]
    }
    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_sns_topic.analysis.arn]
    }
  }
}

resource "aws_sns_topic_subscription" "analysis" {
  topic_arn            = aws_sns_topic.analysis.arn
  protocol             = "sqs"
  endpoint             = aws_sqs_queue.analysis.arn
  raw_message_delivery = true
}

# Secret values never pass through Terraform: the secrets are created out of band, and the
# dashboard key is rotated by `./pipeline rotate-secret`.
data "aws_secretsmanager_secret" "newsapi" {
  name = "${local.prefix}newsapi-key"
}

data "aws_secretsmanager_secret" "dashboard" {
  name = "${local.prefix}dashboard-api-key"
}
