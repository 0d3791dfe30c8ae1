# One Lambda function with its log group, role, alias and standard alarms.
# Terraform owns the code (s3_key by sha, publish = true); the pipeline owns where `live` points.

resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_158:Logs carry no secrets (values are masked before logging) and CloudWatch encrypts them at rest; a CMK per function adds key management for no gain
  name              = "/aws/lambda/${var.name}"
  retention_in_days = var.log_retention_days
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_116:Scheduled functions are idempotent and re-run on the next schedule, SQS-fed analysis has its DLQ on the queue, the dashboard is synchronous; failures raise the errors alarm
  #checkov:skip=CKV_AWS_117:The functions reach only public AWS APIs and NewsAPI; a VPC would add NAT cost and no private resource to protect
  #checkov:skip=CKV_AWS_272:Code integrity is enforced by the pipeline: every published version's CodeSha256 must equal the built artifact's digest before live moves
  #checkov:skip=CKV_AWS_173:Environment variables hold only resource names; secrets live in Secrets Manager
  function_name                  = var.name
  role                           = aws_iam_role.this.arn
  handler                        = var.handler
  runtime                        = var.runtime
  s3_bucket                      = var.s3_bucket
  s3_key                         = var.s3_key
  publish                        = true
  timeout                        = var.timeout
  memory_size                    = var.memory_size
  reserved_concurrent_executions = var.reserved_concurrency

  environment {
    variables = var.environment_variables
  }

  tracing_config {
    mode = "Active"
  }

  depends_on = [aws_cloudwatch_log_group.this, aws_iam_role_policy.this]
}

# The terraform-aws-modules alias pattern: created once, then shifted and rolled back by the
# pipeline (including weighted routing), so Terraform must not fight over the version.
resource "aws_lambda_alias" "live" {
  name             = "live"
  function_name    = aws_lambda_function.this.function_name
  function_version = aws_lambda_function.this.version

  lifecycle {
    ignore_changes = [function_version, routing_config]
  }
}

resource "aws_cloudwatch_metric_alarm" "errors" {
  alarm_name          = "${var.name}-errors"
  alarm_description   = "More than 5 errors in 5 minutes."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = aws_lambda_function.this.function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 5
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [var.alarm_topic_arn]
  ok_actions          = [var.alarm_topic_arn]
}

resource "aws_cloudwatch_metric_alarm" "throttles" {
  alarm_name          = "${var.name}-throttles"
  alarm_description   = "Any throttled invocation."
  namespace           = "AWS/Lambda"
  metric_name         = "Throttles"
  dimensions          = { FunctionName = aws_lambda_function.this.function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [var.alarm_topic_arn]
  ok_actions          = [var.alarm_topic_arn]
}
