# The four functions. Each policy lists exactly the calls that function's code makes.

module "ingestion" {
  source             = "../function"
  name               = "${local.prefix}ingestion"
  handler            = "news_ingestion.handler.handler"
  s3_bucket          = aws_s3_bucket.packages.id
  s3_key             = "${var.lambda_version}/ingestion.zip"
  timeout            = 120
  log_retention_days = var.log_retention_days
  alarm_topic_arn    = aws_sns_topic.alerts.arn
  policy_json        = data.aws_iam_policy_document.ingestion.json
  environment_variables = {
    ENVIRONMENT         = var.environment
    ITEMS_TABLE         = aws_dynamodb_table.items.name
    ANALYSIS_TOPIC_ARN  = aws_sns_topic.analysis.arn
    NEWSAPI_SECRET_NAME = data.aws_secretsmanager_secret.newsapi.name
    NEWSAPI_BASE_URL    = var.newsapi_base_url
    NEWSAPI_PATH        = "/v2/top-headlines"
    NEWSAPI_QUERY       = jsonencode(var.newsapi_query)
  }
}

data "aws_iam_policy_document" "ingestion" {
  statement {
    sid       = "StoreNewItems"
    actions   = ["dynamodb:PutItem", "dynamodb:DeleteItem"]
    resources = [aws_dynamodb_table.items.arn]
  }
  statement {
    sid       = "QueueForAnalysis"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.analysis.arn]
  }
  statement {
    sid       = "ReadNewsApiKey"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [data.aws_secretsmanager_secret.newsapi.arn]
  }
}

module "analysis" {
  source             = "../function"
  name               = "${local.prefix}analysis"
  handler            = "news_analysis.handler.handler"
  s3_bucket          = aws_s3_bucket.packages.id
  s3_key             = "${var.lambda_version}/analysis.zip"
  timeout            = local.analysis_timeout
  log_retention_days = var.log_retention_days
  alarm_topic_arn    = aws_sns_topic.alerts.arn
  policy_json        = data.aws_iam_policy_document.analysis.json
  environment_variables = {
    ENVIRONMENT = var.environment
    ITEMS_TABLE = aws_dynamodb_table.items.name
  }
}

data "aws_iam_policy_document" "analysis" {
  statement {
    sid       = "ScoreItems"
    actions   = ["dynamodb:GetItem", "dynamodb:UpdateItem"]
    resources = [aws_dynamodb_table.items.arn]
  }
  statement {
    sid       = "ConsumeAnalysisQueue"
    actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]
    resources = [aws_sqs_queue.analysis.arn]
  }
}

module "dashboard" {
  source             = "../function"
  name               = "${local.prefix}dashboard"
  handler            = "news_dashboard.handler.handler"
  s3_bucket          = aws_s3_bucket.packages.id
  s3_key             = "${var.lambda_version}/dashboard.zip"
  timeout            = 10
  log_retention_days = var.log_retention_days
  alarm_topic_arn    = aws_sns_topic.alerts.arn
  policy_json        = data.aws_iam_policy_document.dashboard.json
  # APP_VERSION is the release /health reports. Only the dashboard reads it: elsewhere it would
  # turn each release's code update into a configuration update as well, which the provider
  # follows with a wait of its own (5 s) before the code update and its wait.
  environment_variables = {
    ENVIRONMENT           = var.environment
    APP_VERSION           = var.lambda_version
    ITEMS_TABLE           = aws_dynamodb_table.items.name
    DASHBOARD_SECRET_NAME = data.aws_secretsmanager_secret.dashboard.name
  }
}

data "aws_iam_policy_document" "dashboard" {
  statement {
    sid       = "ReadItems"
    actions   = ["dynamodb:Query"]
    resources = ["${aws_dynamodb_table.items.arn}/index/by-status-published"]
  }
  statement {
    sid       = "HealthCheck"
    actions   = ["dynamodb:DescribeTable"]
    resources = [aws_dynamodb_table.items.arn]
  }
  statement {
    sid       = "ReadDashboardKey"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [data.aws_secretsmanager_secret.dashboard.arn]
  }
}

module "canary" {
  source             = "../function"
  name               = "${local.prefix}canary"
  handler            = "news_canary.handler.handler"
  s3_bucket          = aws_s3_bucket.packages.id
  s3_key             = "${var.lambda_version}/canary.zip"
  timeout            = 30
  log_retention_days = var.log_retention_days
  alarm_topic_arn    = aws_sns_topic.alerts.arn
  policy_json        = data.aws_iam_policy_document.canary.json
  environment_variables = {
    ENVIRONMENT           = var.environment
    DASHBOARD_URL         = aws_lambda_function_url.dashboard.function_url
    DASHBOARD_SECRET_NAME = data.aws_secretsmanager_secret.dashboard.name
    ALERTS_TOPIC_ARN      = aws_sns_topic.alerts.arn
    LATENCY_BUDGET_MS     = tostring(var.canary_latency_budget_ms)
  }
}

data "aws_iam_policy_document" "canary" {
  statement {
    sid       = "ReadDashboardKey"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [data.aws_secretsmanager_secret.dashboard.arn]
  }
  statement {
    sid       = "Alert"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alerts.arn]
  }
}
