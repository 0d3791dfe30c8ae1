# Application-level alarms. Per-function error and throttle alarms live in the function module.
# Thresholds are the same in every environment, so a staging environment fails the way the
# production one would.

locals {
  # The ingestion schedule's period in seconds ("rate(15 minutes)" → 900), validated at the root.
  ingestion_period = tonumber(regex("[0-9]+", var.ingestion_schedule)) * (strcontains(var.ingestion_schedule, "hour") ? 3600 : 60)

  # Alarms that page a person but must not roll back a release: whether the schedule ran, or a
  # chat webhook took its alert, says nothing about the code being rolled out, and UserErrors is
  # account-wide, so another environment in the account moves it. The traffic watch skips these.
  paging_only = ["ingestion-stale", "alerts-delivery-failed", "dynamodb-user-errors"]

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
    ingestion-stale = {
      description        = "Ingestion has not run in two schedule periods: its schedule or trigger is broken."
      namespace          = "AWS/Lambda"
      metric             = "Invocations"
      dimensions         = { FunctionName = module.ingestion.function_name }
      statistic          = "Sum"
      threshold          = 1
      comparison         = "LessThanThreshold"
      period             = local.ingestion_period
      evaluation_periods = 2
      missing_data       = "breaching" # no invocation at all emits no datapoint
    }
    ingestion-failing = {
      description        = "Ingestion failed in each of its last two schedule periods, Lambda's retries included."
      namespace          = "AWS/Lambda"
      metric             = "Errors"
      dimensions         = { FunctionName = module.ingestion.function_name }
      statistic          = "Sum"
      threshold          = 0
      period             = local.ingestion_period
      evaluation_periods = 2
    }
    alerts-delivery-failed = {
      description = "SNS failed to deliver an alert to one of its subscribers (the others still get this one)."
      namespace   = "AWS/SNS"
      metric      = "NumberOfNotificationsFailed"
      dimensions  = { TopicName = aws_sns_topic.alerts.name }
      statistic   = "Sum"
      threshold   = 0
    }
    analysis-delivery-failed = {
      description = "SNS failed to deliver new items to the analysis queue."
      namespace   = "AWS/SNS"
      metric      = "NumberOfNotificationsFailed"
      dimensions  = { TopicName = aws_sns_topic.analysis.name }
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
  period              = lookup(each.value, "period", 300)
  evaluation_periods  = lookup(each.value, "evaluation_periods", 1)
  threshold           = each.value.threshold
  comparison_operator = lookup(each.value, "comparison", "GreaterThanThreshold")
  treat_missing_data  = lookup(each.value, "missing_data", "notBreaching")
  alarm_actions       = [aws_sns_topic.alerts.arn]
  ok_actions          = [aws_sns_topic.alerts.arn]
}

resource "aws_budgets_budget" "monthly" {
  count        = var.monthly_budget_usd > 0 ? 1 : 0
  account_id   = local.account_id # the provider's own lookup is skipped against the emulator
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
