output "function_name" {
  description = "Function name."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "Unqualified function ARN."
  value       = aws_lambda_function.this.arn
}

output "version" {
  description = "Version published by this apply."
  value       = aws_lambda_function.this.version
}

output "alias_name" {
  description = "Name of the alias every trigger targets."
  value       = aws_lambda_alias.live.name
}

output "alias_arn" {
  description = "ARN of the live alias."
  value       = aws_lambda_alias.live.arn
}

output "role_arn" {
  description = "Execution role ARN."
  value       = aws_iam_role.this.arn
}

output "alarm_names" {
  description = "Alarms owned by this function."
  value       = [aws_cloudwatch_metric_alarm.errors.alarm_name, aws_cloudwatch_metric_alarm.throttles.alarm_name]
}

output "alarm_arns" {
  description = "ARNs of the function's standard alarms, for the environment's dashboard."
  value       = [aws_cloudwatch_metric_alarm.errors.arn, aws_cloudwatch_metric_alarm.throttles.arn]
}
