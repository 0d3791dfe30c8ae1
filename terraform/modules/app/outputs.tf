output "function_names" {
  description = "Function names by short name."
  value       = { for k, m in local.functions : k => m.function_name }
}

output "alias_arns" {
  description = "ARNs of each function's live alias."
  value       = { for k, m in local.functions : k => m.alias_arn }
}

output "published_versions" {
  description = "Version each function published in this apply."
  value       = { for k, m in local.functions : k => m.version }
}

output "dashboard_url" {
  description = "Function URL of the dashboard's live alias."
  value       = aws_lambda_function_url.dashboard.function_url
}

output "items_table_name" {
  description = "DynamoDB items table."
  value       = aws_dynamodb_table.items.name
}

output "analysis_queue_url" {
  description = "Analysis SQS queue URL."
  value       = aws_sqs_queue.analysis.id
}

output "analysis_dlq_url" {
  description = "Analysis dead-letter queue URL."
  value       = aws_sqs_queue.analysis_dlq.id
}

output "analysis_topic_arn" {
  description = "SNS topic ingestion publishes new items to."
  value       = aws_sns_topic.analysis.arn
}

output "alerts_topic_arn" {
  description = "SNS topic every alarm and the canary notify."
  value       = aws_sns_topic.alerts.arn
}

output "package_bucket" {
  description = "S3 bucket holding <sha>/<function>.zip artifacts."
  value       = aws_s3_bucket.packages.id
}

output "schedule_rules" {
  description = "EventBridge rule names by function."
  value       = { for k, r in aws_cloudwatch_event_rule.schedule : k => r.name }
}

output "alarm_names" {
  description = "Every alarm of this environment."
  value = concat(
    flatten([for m in local.functions : m.alarm_names]),
    [for alarm in aws_cloudwatch_metric_alarm.app : alarm.alarm_name],
  )
}

output "paging_only_alarm_names" {
  description = "Alarms that page but that a release cannot trip; the traffic watch skips them."
  value       = [for key in local.paging_only : aws_cloudwatch_metric_alarm.app[key].alarm_name]
}

output "dashboard_name" {
  description = "The environment's CloudWatch dashboard."
  value       = aws_cloudwatch_dashboard.main.dashboard_name
}

output "secret_names" {
  description = "Secrets Manager names of the NewsAPI and dashboard keys."
  value       = { newsapi = data.aws_secretsmanager_secret.newsapi.name, dashboard = data.aws_secretsmanager_secret.dashboard.name }
}

output "deployer_role_arn" {
  description = "Role GitHub Actions assumes through OIDC for this environment."
  value       = aws_iam_role.deployer.arn
}
