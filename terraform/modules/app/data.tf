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

resource "aws_sns_topic" "alerts" {
  name              = "${local.prefix}alerts"
  kms_master_key_id = "alias/aws/sns"
}

resource "aws_sns_topic_subscription" "alerts_email" {
  count     = var.alert_email == "" ? 0 : 1
  topic_arn = aws_sns_topic.alerts.arn
  protocol  = "email"
  endpoint  = var.alert_email
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
