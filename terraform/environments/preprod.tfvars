# preprod mirrors prod; only scale, schedule and retention differ.
environment            = "preprod"
ingestion_schedule     = "rate(2 hours)"
point_in_time_recovery = false
monthly_budget_usd     = 25
alert_email            = "newsflow-alerts+preprod@example.com"
log_retention_days     = 14
github_repository      = "newsflow/newsflow"
github_environments    = ["preprod", "preprod-reviewed"]
isolated_from          = ["prod"]
promotes_from          = ""
state_bucket           = "newsflow-tfstate"
lock_table             = "newsflow-tflock"
