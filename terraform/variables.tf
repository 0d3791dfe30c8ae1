variable "environment" {
  description = "Environment name; prefixes every resource. Set by environments/<env>.tfvars."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,15}$", var.environment))
    error_message = "environment must be 2-16 lower-case letters or digits, starting with a letter."
  }
}

variable "project" {
  description = "Project name, used in globally unique names."
  type        = string
  default     = "newsflow"
}

variable "region" {
  description = "AWS region."
  type        = string
  default     = "eu-west-1"
}

variable "lambda_version" {
  description = "Git sha of the artifact to deploy (a -dirty suffix marks a local, uncommitted build)."
  type        = string

  validation {
    condition     = can(regex("^[0-9a-f]{7,40}(-dirty)?$", var.lambda_version))
    error_message = "lambda_version must be a git sha (7-40 hex characters), optionally with -dirty."
  }
}

variable "newsapi_base_url" {
  description = "NewsAPI base URL; emulated environments point it at the fake NewsAPI."
  type        = string
  default     = "https://newsapi.org"

  validation {
    condition     = can(regex("^https?://", var.newsapi_base_url))
    error_message = "newsapi_base_url must be an http(s) URL."
  }
}

variable "newsapi_query" {
  description = "Query parameters for /v2/top-headlines."
  type        = map(string)
  default     = { country = "us", pageSize = "100" }
}

variable "ingestion_schedule" {
  description = "EventBridge schedule expression for ingestion."
  type        = string

  validation {
    # The ingestion alarms judge each schedule period, so the period must be known: a rate, of at
    # most 12 hours (CloudWatch looks back at most a day, and the alarms look at two periods).
    condition     = can(regex("^rate\\((1 (minute|hour)|[0-9]+ (minutes|hours))\\)$", var.ingestion_schedule)) && try(tonumber(regex("[0-9]+", var.ingestion_schedule)) * (strcontains(var.ingestion_schedule, "hour") ? 60 : 1) <= 720, false)
    error_message = "ingestion_schedule must be a rate of at most 12 hours, e.g. \"rate(15 minutes)\" or \"rate(2 hours)\": its alarms are set per schedule period."
  }
}

variable "canary_schedule" {
  description = "EventBridge schedule expression for the canary."
  type        = string
  default     = "rate(1 hour)"
}

variable "canary_latency_budget_ms" {
  description = "Latency budget of the dashboard health probe, in milliseconds."
  type        = number
  default     = 2000
}

variable "point_in_time_recovery" {
  description = "Enable point-in-time recovery on the items table."
  type        = bool
}

variable "log_retention_days" {
  description = "CloudWatch Logs retention for every function."
  type        = number

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a retention CloudWatch Logs accepts."
  }
}

variable "alert_email" {
  description = "Optional e-mail address subscribed to the alerts topic; empty for none."
  type        = string
  default     = ""
}

variable "alert_webhook_url" {
  description = "Optional HTTPS webhook subscribed to the alerts topic, e.g. a paging service's SNS integration URL. It usually embeds a token, so pass it as TF_VAR_alert_webhook_url from a secret, never in tfvars; empty for none."
  type        = string
  default     = ""
  sensitive   = true

  validation {
    # Plain http only on the loopback, where the emulator's tests receive it.
    condition     = var.alert_webhook_url == "" || can(regex("^https://[^[:space:]]+$", var.alert_webhook_url)) || can(regex("^http://(127\\.0\\.0\\.1|localhost)(:[0-9]+)?/[^[:space:]]*$", var.alert_webhook_url))
    error_message = "alert_webhook_url must be an https:// URL (or empty for no webhook)."
  }
}

variable "monthly_budget_usd" {
  description = "Monthly AWS Budgets cost limit in USD, alerting at 80 %; 0 disables it."
  type        = number
  default     = 0

  validation {
    condition     = var.monthly_budget_usd >= 0
    error_message = "monthly_budget_usd cannot be negative."
  }
}

variable "github_environments" {
  description = "GitHub environments whose jobs may assume this environment's deployer role (OIDC sub)."
  type        = list(string)

  validation {
    condition     = length(var.github_environments) > 0 && alltrue([for name in var.github_environments : can(regex("^[A-Za-z0-9_.-]+$", name))])
    error_message = "github_environments must list GitHub environment names, e.g. [\"production\"]."
  }
}

variable "github_repository" {
  description = "owner/name of the GitHub repository whose environment may assume the deployer role."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.github_repository))
    error_message = "github_repository must be owner/name."
  }
}

variable "github_oidc_provider_arn" {
  description = "ARN of the account's GitHub OIDC provider; empty means the conventional ARN."
  type        = string
  default     = ""
}

variable "isolated_from" {
  description = "Environments this environment's deployer is explicitly denied."
  type        = list(string)
}

variable "promotes_from" {
  description = "The environment whose validated artifacts this one promotes (\"\" for none); its deployer may read those artifacts and their ledger entries, nothing else."
  type        = string
  default     = ""

  validation {
    condition     = var.promotes_from == "" || contains(var.isolated_from, var.promotes_from)
    error_message = "promotes_from must be one of isolated_from: the source stays denied everything but the reads a promotion needs."
  }
}

variable "state_bucket" {
  description = "Terraform state bucket (the same as in backends/<env>.hcl)."
  type        = string
}

variable "lock_table" {
  description = "Terraform state lock table (the same as in backends/<env>.hcl)."
  type        = string
}
