# Application-level alarms. Per-function error and throttle alarms live in the function module.
# Thresholds are the same in every environment, so a staging environment fails the way the
# production one would.

locals {
  alarms = {
    items-throttled = {
      description = "The items table throttled requests."
      namespace   = "AWS/DynamoDB"
      metric      = "ThrottledRequests"
      dimensions  = { TableName = aws_dynamodb_table.items.name }
      statistic   = "Sum"
      threshold   = 0
    }
    dynamodb-user-errors = {
      description = "DynamoDB rejected requests as malformed or unauthorised (account-wide metric)."
      namespace   = "AWS/DynamoDB"
      metric      = "UserErrors"
      dimensions  = {}
      statistic   = "Sum"
      threshold   = 0
    }
    analysis-dlq-depth = {
      description = "More than 5 messages wait in the analysis DLQ."
      namespace   = "AWS/SQS"
      metric      = "ApproximateNumberOfMessagesVisible"
      dimensions  = { QueueName = aws_sqs_queue.analysis_dlq.name }
      statistic   = "Maximum"
      threshold   = 5
    }
    canary-failed = {
      description = "The dashboard canary failed at least once."
      namespace   = "AWS/Lambda"
      metric      = "Errors"
      dimensions  = { FunctionName = module.canary.function_name }
      statistic   = "Sum"
      threshold   = 0
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "app" {
  for_each            = local.alarms
  alarm_name          = "${local.prefix}${each.key}"
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric
  dimensions          = each.value.dimensions
  statistic           = each.value.statistic
  period              = 300
  evaluation_periods  = 1
  threshold           = each.value.threshold
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alerts.arn]
  ok_actions          = [aws_sns_topic.alerts.arn]
}

resource "aws_budgets_budget" "monthly" {
  count        = var.monthly_budget_usd > 0 ? 1 : 0
  name         = "${local.prefix}${var.project}-monthly"
  budget_type  = "COST"
  limit_amount = tostring(var.monthly_budget_usd)
  limit_unit   = "USD"
  time_unit    = "MONTHLY"

  cost_filter {
    name   = "TagKeyValue"
    values = ["user:Environment$${var.environment}"]
  }

  notification {
    comparison_operator       = "GREATER_THAN"
    threshold                 = 80
    threshold_type            = "PERCENTAGE"
    notification_type         = "FORECASTED"
    subscriber_sns_topic_arns = [aws_sns_topic.alerts.arn]
  }
}
