environment            = "prod"
ingestion_schedule     = "rate(15 minutes)"
point_in_time_recovery = true
log_retention_days     = 90
github_repository      = "newsflow/newsflow"
isolated_from          = ["preprod"]
state_bucket           = "newsflow-tfstate"
lock_table             = "newsflow-tflock"
