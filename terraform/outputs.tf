output "function_names" {
  description = "Function names by short name."
  value       = module.app.function_names
}

output "alias_arns" {
  description = "ARNs of each function's live alias."
  value       = module.app.alias_arns
}

output "published_versions" {
  description = "Version each function published in this apply."
  value       = module.app.published_versions
}

output "dashboard_url" {
  description = "Function URL of the dashboard's live alias."
  value       = module.app.dashboard_url
}

output "items_table_name" {
  description = "DynamoDB items table."
  value       = module.app.items_table_name
}

output "analysis_queue_url" {
  description = "Analysis SQS queue URL."
  value       = module.app.analysis_queue_url
}

output "analysis_dlq_url" {
  description = "Analysis dead-letter queue URL."
  value       = module.app.analysis_dlq_url
}

output "analysis_topic_arn" {
  description = "SNS topic ingestion publishes to."
  value       = module.app.analysis_topic_arn
}

output "alerts_topic_arn" {
  description = "SNS topic every alarm and the canary notify."
  value       = module.app.alerts_topic_arn
}

output "package_bucket" {
  description = "S3 bucket holding <sha>/<function>.zip artifacts."
  value       = module.app.package_bucket
}

output "schedule_rules" {
  description = "EventBridge rule names by function."
  value       = module.app.schedule_rules
}

output "alarm_names" {
  description = "Every alarm of this environment."
  value       = module.app.alarm_names
}

output "secret_names" {
  description = "Secrets Manager names of the NewsAPI and dashboard keys."
  value       = module.app.secret_names
}

output "deployer_role_arn" {
  description = "Role GitHub Actions assumes through OIDC for this environment."
  value       = module.app.deployer_role_arn
}

output "paging_only_alarm_names" {
  description = "Alarms that page but that a release cannot trip; the traffic watch skips them."
  value       = module.app.paging_only_alarm_names
}

output "dashboard_name" {
  description = "The environment's CloudWatch dashboard."
  value       = module.app.dashboard_name
}
