# Every trigger targets the `live` alias, never $LATEST, so the pipeline's alias moves decide
# which code runs.

resource "aws_lambda_event_source_mapping" "analysis" {
  event_source_arn                   = aws_sqs_queue.analysis.arn
  function_name                      = module.analysis.alias_arn
  batch_size                         = 10
  maximum_batching_window_in_seconds = 5
  function_response_types            = ["ReportBatchItemFailures"]
}

resource "aws_lambda_function_url" "dashboard" {
  #checkov:skip=CKV_AWS_258:The dashboard authenticates every request with X-API-Key (constant-time compare); IAM auth would require SigV4 clients
  function_name      = module.dashboard.function_name
  qualifier          = module.dashboard.alias_name
  authorization_type = "NONE" # the handler authenticates every request with X-API-Key
}

locals {
  schedules = {
    ingestion = { expression = var.ingestion_schedule, alias_arn = module.ingestion.alias_arn, function = module.ingestion.function_name }
    canary    = { expression = var.canary_schedule, alias_arn = module.canary.alias_arn, function = module.canary.function_name }
  }
}

resource "aws_cloudwatch_event_rule" "schedule" {
  for_each            = local.schedules
  name                = "${local.prefix}${each.key}-schedule"
  description         = "Runs ${each.key} on its schedule."
  schedule_expression = each.value.expression
}

resource "aws_cloudwatch_event_target" "schedule" {
  for_each = local.schedules
  rule     = aws_cloudwatch_event_rule.schedule[each.key].name
  arn      = each.value.alias_arn
}

resource "aws_lambda_permission" "schedule" {
  for_each      = local.schedules
  statement_id  = "AllowEventBridge"
  action        = "lambda:InvokeFunction"
  function_name = each.value.function
  qualifier     = "live"
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.schedule[each.key].arn
}

# A NONE-auth Function URL still needs a resource policy that lets anyone reach the URL.
resource "aws_lambda_permission" "dashboard_url" {
  #checkov:skip=CKV_AWS_301:Required for a NONE-auth Function URL; access is gated by the API key in the handler
  statement_id           = "AllowPublicFunctionUrl"
  action                 = "lambda:InvokeFunctionUrl"
  function_name          = module.dashboard.function_name
  qualifier              = module.dashboard.alias_name
  principal              = "*"
  function_url_auth_type = "NONE"
}
