variable "environment" {
  description = "Environment name; every resource name starts with it."
  type        = string
}

variable "project" {
  description = "Project name, used in globally unique names such as the bucket."
  type        = string
}

variable "lambda_version" {
  description = "Git sha of the artifact to deploy; the zips live under <sha>/ in the package bucket."
  type        = string
}

variable "newsapi_base_url" {
  description = "NewsAPI base URL."
  type        = string
}

variable "newsapi_query" {
  description = "Query parameters for /v2/top-headlines."
  type        = map(string)
}

variable "ingestion_schedule" {
  description = "EventBridge schedule expression for ingestion."
  type        = string
}

variable "canary_schedule" {
  description = "EventBridge schedule expression for the canary."
  type        = string
}

variable "canary_latency_budget_ms" {
  description = "Latency budget of the dashboard health probe."
  type        = number
}

variable "point_in_time_recovery" {
  description = "Enable DynamoDB point-in-time recovery on the items table."
  type        = bool
}

variable "log_retention_days" {
  description = "CloudWatch Logs retention for every function."
  type        = number
}

variable "alert_email" {
  description = "Optional e-mail address subscribed to the alerts topic."
  type        = string
}

variable "alert_webhook_url" {
  description = "Optional HTTPS endpoint (chat or paging webhook) subscribed to the alerts topic; a secret."
  type        = string
  sensitive   = true
}

variable "monthly_budget_usd" {
  description = "Monthly cost budget with an alert at 80 %; 0 disables it."
  type        = number
}

variable "github_environments" {
  description = "GitHub environments whose workflow jobs may assume the deployer role."
  type        = list(string)

  validation {
    condition     = length(var.github_environments) > 0
    error_message = "github_environments needs at least one GitHub environment name."
  }
}

variable "github_repository" {
  description = "owner/name of the repository whose workflows may deploy this environment."
  type        = string
}

variable "github_oidc_provider_arn" {
  description = "ARN of the account's GitHub OIDC provider; empty means the conventional ARN in this account."
  type        = string
}

variable "isolated_from" {
  description = "Other environments whose resources and state this environment's deployer must never touch."
  type        = list(string)
}

variable "promotes_from" {
  description = "The environment whose validated artifacts and ledger entries this one's deployer reads (\"\" for none)."
  type        = string
}

variable "state_bucket" {
  description = "Terraform state bucket."
  type        = string
}

variable "lock_table" {
  description = "Terraform state lock table."
  type        = string
}
