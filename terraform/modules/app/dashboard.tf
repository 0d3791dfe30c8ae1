# The environment's CloudWatch dashboard: what on-call opens when an alert arrives. One row per
# concern, the same in every environment.

locals {
  dashboard_functions = [for name in sort(keys(local.functions)) : local.functions[name].function_name]
  lambda_metric_rows = {
    Invocations = "Sum"
    Errors      = "Sum"
    Throttles   = "Sum"
    Duration    = "p95"
  }
}

resource "aws_cloudwatch_dashboard" "main" {
  dashboard_name = "${local.prefix}${var.project}"
  dashboard_body = jsonencode({
    widgets = concat(
      [{
        type   = "alarm"
        x      = 0
        y      = 0
        width  = 24
        height = 4
        properties = {
          title  = "Alarms"
          alarms = concat(flatten([for m in values(local.functions) : m.alarm_arns]), [for alarm in aws_cloudwatch_metric_alarm.app : alarm.arn])
        }
      }],
      [for i, metric in keys(local.lambda_metric_rows) : {
        type   = "metric"
        x      = (i % 2) * 12
        y      = 4 + floor(i / 2) * 6
        width  = 12
        height = 6
        properties = {
          title   = "Lambda ${metric} (${local.lambda_metric_rows[metric]})"
          region  = local.region
          stat    = local.lambda_metric_rows[metric]
          period  = 300
          view    = "timeSeries"
          metrics = [for fn in local.dashboard_functions : ["AWS/Lambda", metric, "FunctionName", fn]]
        }
      }],
      [{
        type   = "metric"
        x      = 0
        y      = 16
        width  = 12
        height = 6
        properties = {
          title  = "Analysis queue and DLQ (visible messages)"
          region = local.region
          stat   = "Maximum"
          period = 300
          metrics = [
            ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", aws_sqs_queue.analysis.name],
            ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", aws_sqs_queue.analysis_dlq.name],
          ]
        }
        }, {
        type   = "metric"
        x      = 12
        y      = 16
        width  = 12
        height = 6
        properties = {
          title  = "Items table and SNS deliveries"
          region = local.region
          stat   = "Sum"
          period = 300
          metrics = [
            ["AWS/DynamoDB", "ThrottledRequests", "TableName", aws_dynamodb_table.items.name],
            ["AWS/DynamoDB", "UserErrors"],
            ["AWS/SNS", "NumberOfNotificationsFailed", "TopicName", aws_sns_topic.analysis.name],
            ["AWS/SNS", "NumberOfNotificationsFailed", "TopicName", aws_sns_topic.alerts.name],
          ]
        }
      }],
    )
  })
}
