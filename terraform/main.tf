provider "aws" {
  region = var.region

  default_tags {
    tags = {
      Project     = var.project
      Environment = var.environment
      ManagedBy   = "terraform"
    }
  }
}

module "app" {
  source = "./modules/app"

  environment              = var.environment
  project                  = var.project
  lambda_version           = var.lambda_version
  newsapi_base_url         = var.newsapi_base_url
  newsapi_query            = var.newsapi_query
  ingestion_schedule       = var.ingestion_schedule
  canary_schedule          = var.canary_schedule
  canary_latency_budget_ms = var.canary_latency_budget_ms
  point_in_time_recovery   = var.point_in_time_recovery
  log_retention_days       = var.log_retention_days
  alert_email              = var.alert_email
  alert_webhook_url        = var.alert_webhook_url
  monthly_budget_usd       = var.monthly_budget_usd
  github_repository        = var.github_repository
  github_environments      = var.github_environments
  github_oidc_provider_arn = var.github_oidc_provider_arn
  isolated_from            = var.isolated_from
  promotes_from            = var.promotes_from
  state_bucket             = var.state_bucket
  lock_table               = var.lock_table
}
